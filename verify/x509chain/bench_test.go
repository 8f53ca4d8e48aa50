package x509chain_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/attestd/attestd/verify/androidkey"
	"github.com/attestd/attestd/verify/platformtest"
	"github.com/attestd/attestd/verify/x509chain"
)

// BenchmarkParse: a P-256 certificate against the largest accepted one, a
// 16 KiB certificate holding a 128,000-bit RSA modulus (crypto/x509 reads
// it into a big.Int: linear, about twice the P-256 one; the key is refused
// afterwards by CheckAlgorithms, never used).
func BenchmarkParse(b *testing.B) {
	small := issue(b, platformtest.CertSpec{Subject: "root", CA: true}, nil, nil)
	huge, err := platformtest.RandomRSAKey(128_000, 1<<31-1)
	if err != nil {
		b.Fatal(err)
	}
	big := issue(b, platformtest.CertSpec{Subject: "huge", Key: huge, Signer: p256(b), CA: true}, nil, nil)
	for name, der := range map[string][]byte{"p256": small.cert.Raw, "rsa-128000-bits-" + strconv.Itoa(len(big.cert.Raw)) + "-bytes": big.cert.Raw} {
		b.Run(name, func(b *testing.B) {
			in := [][]byte{der}
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				if _, err := x509chain.Parse(in); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkVerifyGoogleRoots is Verify against Google's built-in roots:
// the genuine Keymaster 4 TEE chain of the shared vectors (RSA-4096, then
// RSA-4096 signing a P-256 intermediate, ...: the baseline; skipped when the
// vectors are absent) beside the most an attacker makes those roots cost:
// a forged intermediate naming the root, signed with RSA (one RSA-4096
// verification, the root's three issues being one key) or with ECDSA-SHA384
// (one P-384 verification, Key Attestation CA1).
func BenchmarkVerifyGoogleRoots(b *testing.B) {
	roots, err := androidkey.DefaultRoots()
	if err != nil {
		b.Fatal(err)
	}
	at := time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)
	cases := map[string][]*x509.Certificate{}
	for _, r := range []*x509.Certificate{roots[0], roots[len(roots)-1]} {
		k, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
		if err != nil {
			b.Fatal(err)
		}
		spec := platformtest.CertSpec{Subject: "forged", Issuer: r, Key: k.Public(), Signer: k, CA: true}
		name := "hostile-forged-ecdsa-p384"
		if _, ok := r.PublicKey.(*ecdsa.PublicKey); !ok {
			spec.Signer, spec.SignatureAlgorithm, spec.Signature = rsaKey(b), x509.SHA256WithRSA, platformtest.RandomBytes(512)
			name = "hostile-forged-rsa-4096"
		}
		cases[name] = certs(issue(b, spec, nil, nil))
	}
	if dir := vectorsDir(b); dir != "" {
		var chain []*x509.Certificate
		for i := 0; i < 4; i++ {
			der, err := os.ReadFile(filepath.Join(dir, "cert"+strconv.Itoa(i)+".der"))
			if err != nil {
				b.Fatal(err)
			}
			chain = append(chain, parse(b, der))
		}
		cases["genuine-tee-vector"] = chain
	}
	for name, chain := range cases {
		b.Run(name, func(b *testing.B) {
			want := name == "genuine-tee-vector"
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				if err := x509chain.Verify(chain, roots, at); (err == nil) != want {
					b.Fatal(err)
				}
			}
		})
	}
}

// vectorsDir is the Google TEE chain of the shared vectors, "" when absent.
func vectorsDir(b *testing.B) string {
	var s recordSkip
	dir := platformtest.Vectors(&s)
	if s.skipped {
		b.Logf("genuine-tee-vector not measured: the shared vectors are absent")
		return ""
	}
	return filepath.Join(dir, "android", "google-android-key-attestation", "algorithm_EC_SecurityLevel_TEE")
}

// recordSkip is a platformtest.Skipper that records a skip instead.
type recordSkip struct{ skipped bool }

func (*recordSkip) Helper()                {}
func (s *recordSkip) Skipf(string, ...any) { s.skipped = true }
