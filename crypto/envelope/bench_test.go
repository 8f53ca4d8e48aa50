package envelope

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"testing"

	"github.com/attestd/attestd/crypto/secret"
)

func BenchmarkSeal(b *testing.B) {
	kr := newKeyring(b, "m1", map[string]secret.Value{"m1": testKey(1)})
	pt := make([]byte, 64)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := kr.Seal(pt, "accounts/acme/keys/k1"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkOpen(b *testing.B) {
	kr := newKeyring(b, "m1", map[string]secret.Value{"m1": testKey(1)})
	s := seal(b, kr, string(make([]byte, 64)), "accounts/acme/keys/k1")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := kr.Open(s, "accounts/acme/keys/k1"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkBaselineGCM is the floor beside Seal: raw AES-256-GCM of the
// same 64 bytes with a random nonce, no encoding.
func BenchmarkBaselineGCM(b *testing.B) {
	block, _ := aes.NewCipher(testKey(1).Reveal())
	gcm, _ := cipher.NewGCM(block)
	pt, nonce, out := make([]byte, 64), make([]byte, 12), make([]byte, 0, 128)
	b.ReportAllocs()
	for b.Loop() {
		rand.Read(nonce)
		out = gcm.Seal(out[:0], nonce, pt, []byte("v1:m1:accounts/acme/keys/k1"))
	}
}
