package appleattest_test

import (
	"crypto/x509"
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

// BenchmarkBaselineChainSignatures is the floor beside BenchmarkAppleVerify:
// the two signature checks of the same x5c, already parsed.
func BenchmarkBaselineChainSignatures(b *testing.B) {
	ca := newCA(b)
	obj, err := appleattest.ParseAttestationObject(input(b, ca, good()).Attestation)
	if err != nil {
		b.Fatal(err)
	}
	cred, err := x509.ParseCertificate(obj.X5C[0])
	if err != nil {
		b.Fatal(err)
	}
	chain := []*x509.Certificate{cred, ca.Intermediate, ca.Root}
	b.ReportAllocs()
	for b.Loop() {
		for i := 0; i < 2; i++ {
			if err := chain[i+1].CheckSignature(chain[i].SignatureAlgorithm, chain[i].RawTBSCertificate, chain[i].Signature); err != nil {
				b.Fatal(err)
			}
		}
	}
}
