package appleattest_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"strings"
	"testing"

	"github.com/attestd/attestd/verify/appleattest"
	"github.com/attestd/attestd/verify/platformtest"
	"github.com/attestd/attestd/verify/x509chain"
)

// TestX5CWithHugeRSAKeyIsCheap: the chain attack through App Attest's x5c.
// An "intermediate" with a random 88,000-bit RSA modulus and e = 2^31-1
// under a credential certificate whose signature is 11,000 random bytes
// (the largest that x509chain.MaxChainSize holds; the 120,000-bit key of
// the original finding is refused for its size, TestHostileX5CRefused), in
// an attestation object within MaxAttestationSize: refused with
// apple_chain and x509chain.ErrKey, which x509chain returns only before
// any signature is checked (the same verifier as android-key's).
func TestX5CWithHugeRSAKeyIsCheap(t *testing.T) {
	ca := newCA(t)
	in := input(t, ca, good())
	huge, err := platformtest.RandomRSAKey(88_000, 1<<31-1)
	if err != nil {
		t.Fatal(err)
	}
	forger := newP256(t)
	inter, err := platformtest.CertSpec{Subject: "Apple App Attestation CA 1", Key: huge, Issuer: ca.Root, Signer: forger, CA: true}.DER()
	if err != nil {
		t.Fatal(err)
	}
	// An RSA signature, so that a verifier that used the huge key would
	// raise these 11,000 bytes to the power 2^31-1 modulo it.
	rk, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	cred, err := platformtest.CertSpec{Subject: "credential", Key: forger.Public(), Issuer: parse(t, inter), Signer: rk,
		SignatureAlgorithm: x509.SHA256WithRSA, Signature: platformtest.RandomBytes(11_000)}.DER()
	if err != nil {
		t.Fatal(err)
	}
	in.Attestation = rewrite(t, in.Attestation, func(w *wire) { w.AttStmt.X5C = [][]byte{cred, inter} })
	if len(in.Attestation) > appleattest.MaxAttestationSize {
		t.Fatalf("attestation object of %d bytes is refused for its size", len(in.Attestation))
	}
	_, err = appleattest.Verify(in, appleattest.Policy{}, ca.Roots(), testNow)
	checkErr(t, err, appleattest.ErrChain)
	if !errors.Is(err, x509chain.ErrKey) {
		t.Errorf("not refused by the allow-list before any signature: %v", err)
	}
}

// TestHostileX5CRefused: platformtest's hostile chains as x5c: refused
// with x509chain's class kept, or for their size when they do not fit an
// attestation object.
func TestHostileX5CRefused(t *testing.T) {
	ca := newCA(t)
	hs, err := platformtest.HostileChains(ca.Root, ca.RootKey, newP256(t).Public())
	if err != nil {
		t.Fatal(err)
	}
	reason := map[error]error{
		x509chain.ErrKey:       appleattest.ErrChain,
		x509chain.ErrSignature: appleattest.ErrChain,
		x509chain.ErrRoot:      appleattest.ErrRoot,
		x509chain.ErrMalformed: appleattest.ErrMalformed,
	}
	for _, h := range hs {
		t.Run(h.Name, func(t *testing.T) {
			in := input(t, ca, good())
			in.Attestation = rewrite(t, in.Attestation, func(w *wire) { w.AttStmt.X5C = h.Chain })
			_, err := appleattest.Verify(in, appleattest.Policy{}, ca.Roots(), testNow)
			if len(in.Attestation) > appleattest.MaxAttestationSize {
				checkErr(t, err, appleattest.ErrMalformed)
				return
			}
			checkErr(t, err, reason[h.Want])
			if !errors.Is(err, h.Want) {
				t.Errorf("x509chain class lost: %v, want %v", err, h.Want)
			}
		})
	}
}

// TestRootFileOutsideAllowListRefused: an --apple-roots file with a P-521
// root is refused when it is loaded, naming the root and the reason.
func TestRootFileOutsideAllowListRefused(t *testing.T) {
	k, err := ecdsa.GenerateKey(elliptic.P521(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := platformtest.CertSpec{Subject: "P-521 root", Key: k.Public(), Signer: k, CA: true}.DER()
	if err != nil {
		t.Fatal(err)
	}
	_, err = appleattest.ParseRootsPEM(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
	checkErr(t, err, appleattest.ErrMalformed)
	if !errors.Is(err, x509chain.ErrKey) || !strings.Contains(err.Error(), "root 0 (CN=P-521 root)") || !strings.Contains(err.Error(), "P-521") {
		t.Errorf("error does not name the root and its key: %v", err)
	}
}
