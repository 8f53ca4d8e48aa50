package appleattest_test

import (
	"testing"

	"github.com/attestd/attestd/verify/appleattest"
)

// BenchmarkAppleVerify verifies a generated attestation object (credential
// certificate and intermediate under a P-256 test root).
func BenchmarkAppleVerify(b *testing.B) {
	ca := newCA(b)
	in := input(b, ca, good())
	roots := ca.Roots()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := appleattest.Verify(in, appleattest.Policy{}, roots, testNow); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAttestationObject decodes a generated attestation object alone.
func BenchmarkAttestationObject(b *testing.B) {
	_, obj, err := newCA(b).Attest(good())
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := appleattest.ParseAttestationObject(obj); err != nil {
			b.Fatal(err)
		}
	}
}
