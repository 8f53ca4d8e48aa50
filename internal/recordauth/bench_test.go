package recordauth

import (
	"fmt"
	"testing"
)

// benchStore is a store of n app records of about 300 bytes, written
// authenticated.
func benchStore(b *testing.B, n int) *mem {
	kr := keyring(b, "m1")
	kv := map[string]string{}
	for i := range n {
		kv[fmt.Sprintf("apps/com.example.app%05d", i)] = fmt.Sprintf(`{"id":"com.example.app%05d","account":"acme","platform":"android",`+
			`"signers":["AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"],"versions":{"1.0.0":"BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB",`+
			`"1.0.1":"CCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCC"},"policy":{"allow_rooted":false}}`, i)
	}
	m := newMem()
	m.update(b, Authenticated(kr, put(kv)))
	return m
}

// BenchmarkVerifyStore is what a node spends when a change arrives (never
// per request): every tag and the manifest checked, the records copied
// without their tags. BenchmarkStripStore, beside it, is the copy alone.
func BenchmarkVerifyStore(b *testing.B) {
	for _, n := range []int{100, 1000} {
		m := benchStore(b, n)
		kr := keyring(b, "m1")
		b.Run(fmt.Sprintf("records=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Verify(m.cur, kr, Floor{}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkStripStore(b *testing.B) {
	for _, n := range []int{100, 1000} {
		m := benchStore(b, n)
		b.Run(fmt.Sprintf("records=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				Strip(m.cur)
			}
		})
	}
}
