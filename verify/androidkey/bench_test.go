package androidkey_test

import (
	"testing"

	"github.com/attestd/attestd/verify/androidkey"
)

// BenchmarkAndroidVerify verifies a generated chain of three (leaf,
// intermediate, root; P-256): two signature checks, the root matched by
// equality.
func BenchmarkAndroidVerify(b *testing.B) {
	f := newFixture(b)
	in := f.input(b, f.good())
	roots := f.ca.Roots()
	status, err := androidkey.ParseStatusList([]byte(`{"entries":{"abc":{"status":"REVOKED"}}}`))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := androidkey.Verify(in, androidkey.Policy{}, roots, status, testNow); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkKeyDescription parses a generated key description alone.
func BenchmarkKeyDescription(b *testing.B) {
	d := goodDescription()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := androidkey.ParseKeyDescription(d); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkBaselineChainSignatures is the floor beside BenchmarkAndroidVerify:
// the two signature checks of the same chain, already parsed.
func BenchmarkBaselineChainSignatures(b *testing.B) {
	f := newFixture(b)
	certs := parseChain(b, f.input(b, f.good()).Chain)
	b.ReportAllocs()
	for b.Loop() {
		for i := 0; i < 2; i++ {
			if err := certs[i+1].CheckSignature(certs[i].SignatureAlgorithm, certs[i].RawTBSCertificate, certs[i].Signature); err != nil {
				b.Fatal(err)
			}
		}
	}
}
