package seal

import (
	"crypto/ecdh"
	"crypto/rand"
	"testing"
)

var benchPayload = []byte(`{"maps_api_key":"AIzaSyD-0123456789abcdefghijklmnopqrstu","payments_key":"sk_live_0123456789"}`)

func BenchmarkSeal(b *testing.B) {
	priv := genKey(b)
	dst := make([]byte, 0, 1024)
	b.ReportAllocs()
	for b.Loop() {
		var err error
		if _, err = Seal(dst[:0], &priv.PublicKey, testKid, benchPayload, nil); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkBaselineECDH is the floor beside Seal: one ephemeral P-256 key
// and one key agreement, which Seal cannot avoid.
func BenchmarkBaselineECDH(b *testing.B) {
	priv := genKey(b)
	pub, _ := priv.PublicKey.ECDH()
	b.ReportAllocs()
	for b.Loop() {
		eph, _ := ecdh.P256().GenerateKey(rand.Reader)
		if _, err := eph.ECDH(pub); err != nil {
			b.Fatal(err)
		}
	}
}
