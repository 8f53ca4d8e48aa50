package playintegrity_test

import (
	"testing"

	"github.com/go-jose/go-jose/v4"

	"github.com/attestd/attestd/verify/playintegrity"
)

// BenchmarkVerify is one genuine token through Verify: the bounds, go-jose
// decrypting and verifying it, the payload read and checked. Beside it,
// BenchmarkGoJoseBaseline is go-jose's part alone.
func BenchmarkVerify(b *testing.B) {
	r := newRig(b)
	tok := r.token(b, r.pass())
	keys := r.iss.KeySet()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := playintegrity.Verify(r.input(tok), keys, playintegrity.Policy{}, maxAge, now); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkGoJoseBaseline: go-jose parsing and decrypting the token, then
// parsing and verifying its JWS, as BenchmarkVerify does among the rest.
func BenchmarkGoJoseBaseline(b *testing.B) {
	r := newRig(b)
	tok := r.token(b, r.pass())
	aes, pub := r.iss.DecryptionKey, &r.iss.SigningKey.PublicKey
	b.ReportAllocs()
	for b.Loop() {
		jwe, err := jose.ParseEncryptedCompact(tok, []jose.KeyAlgorithm{jose.A256KW}, []jose.ContentEncryption{jose.A256GCM})
		if err != nil {
			b.Fatal(err)
		}
		plain, err := jwe.Decrypt(aes)
		if err != nil {
			b.Fatal(err)
		}
		jws, err := jose.ParseSignedCompact(string(plain), []jose.SignatureAlgorithm{jose.ES256})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := jws.Verify(pub); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkParsePayload reads a verdict of Play's size (about 1 KB).
func BenchmarkParsePayload(b *testing.B) {
	r := newRig(b)
	p := r.pass().JSON()
	b.SetBytes(int64(len(p)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := playintegrity.ParsePayload(p); err != nil {
			b.Fatal(err)
		}
	}
}
