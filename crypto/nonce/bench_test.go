package nonce

import (
	"crypto/hmac"
	"crypto/sha256"
	"testing"
	"time"

	"github.com/attestd/attestd/crypto/secret"
)

func benchKeyring(b *testing.B) *Keyring {
	return newKeyring(b, "k1", map[string]secret.Value{"k1": testKey(1), "k0": testKey(2)})
}

func BenchmarkIssue(b *testing.B) {
	kr := benchKeyring(b)
	dst := make([]byte, 0, MaxLen)
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := kr.Issue(dst[:0], t0, time.Minute, nil); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkIssueParallel(b *testing.B) {
	kr := benchKeyring(b)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		dst := make([]byte, 0, MaxLen)
		for pb.Next() {
			if _, _, err := kr.Issue(dst[:0], t0, time.Minute, nil); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

func BenchmarkCheck(b *testing.B) {
	kr := benchKeyring(b)
	n, _ := issue(b, kr, t0, time.Minute)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := kr.Check(n, t0); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCheckParallel(b *testing.B) {
	kr := benchKeyring(b)
	n, _ := issue(b, kr, t0, time.Minute)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := kr.Check(n, t0); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkCheckMalformed is the cost of refusing junk: no MAC is computed.
func BenchmarkCheckMalformed(b *testing.B) {
	kr := benchKeyring(b)
	n, _ := issue(b, kr, t0, time.Minute)
	n[len(n)-1] = '='
	b.ReportAllocs()
	for b.Loop() {
		if _, err := kr.Check(n, t0); err == nil {
			b.Fatal("accepted")
		}
	}
}

// BenchmarkBaselineHMAC is the naive floor beside Issue and Check: a fresh
// HMAC-SHA256 over the same 44 bytes, as crypto/hmac is usually called.
func BenchmarkBaselineHMAC(b *testing.B) {
	key := testKey(1).Reveal()
	msg := make([]byte, len("v1.k1.")+signedLen)
	b.ReportAllocs()
	for b.Loop() {
		m := hmac.New(sha256.New, key)
		m.Write(msg)
		_ = m.Sum(nil)
	}
}
