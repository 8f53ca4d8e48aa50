package devicekey

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"encoding/base64"
	"testing"
)

func BenchmarkVerify(b *testing.B) {
	priv := genKey(b)
	k := mustParse(b, pointOf(b, priv))
	body := make([]byte, 1024)
	sig := sign(b, priv, body)
	b.ReportAllocs()
	for b.Loop() {
		if err := VerifySignature(k, body, sig); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkBaselineVerifyASN1 is the floor beside BenchmarkVerify: the
// standard library's P-256 verification of the same pre-decoded signature.
func BenchmarkBaselineVerifyASN1(b *testing.B) {
	priv := genKey(b)
	body := make([]byte, 1024)
	der, _ := base64.RawURLEncoding.DecodeString(string(sign(b, priv, body)))
	b.ReportAllocs()
	for b.Loop() {
		h := sha256.Sum256(body)
		if !ecdsa.VerifyASN1(&priv.PublicKey, h[:], der) {
			b.Fatal("invalid")
		}
	}
}

func BenchmarkParsePoint(b *testing.B) {
	p := pointOf(b, genKey(b))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(p); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseSPKI(b *testing.B) {
	priv := genKey(b)
	der := spkiOf(b, &priv.PublicKey)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(der); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSignatureRefused is the cost of refusing a malformed header:
// no curve arithmetic.
func BenchmarkSignatureRefused(b *testing.B) {
	k := mustParse(b, pointOf(b, genKey(b)))
	sig := []byte("MEUCIQ==")
	b.ReportAllocs()
	for b.Loop() {
		if VerifySignature(k, nil, sig) == nil {
			b.Fatal("accepted")
		}
	}
}

// BenchmarkParseBufPoint is the hot path's parse: into a reused KeyBuf.
func BenchmarkParseBufPoint(b *testing.B) {
	p := pointOf(b, genKey(b))
	var buf KeyBuf
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseBuf(p, &buf); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkBaselineParseUncompressed is what Parse used before ParseBuf:
// the standard library's parse of the same point (and its did).
func BenchmarkBaselineParseUncompressed(b *testing.B) {
	p := pointOf(b, genKey(b))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), p); err != nil {
			b.Fatal(err)
		}
		sum := sha256.Sum256(p)
		_ = base64.RawURLEncoding.EncodeToString(sum[:])
	}
}
