package x509chain_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/attestd/attestd/verify/platformtest"
	"github.com/attestd/attestd/verify/x509chain"
)

var now = time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)

// node is a certificate and the private key of its subject.
type node struct {
	cert *x509.Certificate
	key  crypto.Signer
}

func p256(t testing.TB) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func parse(t testing.TB, der []byte) *x509.Certificate {
	t.Helper()
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// issue makes a certificate from spec for key (fresh P-256 when nil),
// signed by parent's key (self-signed when nil) unless spec names a Signer.
func issue(t testing.TB, spec platformtest.CertSpec, key crypto.Signer, parent *node) *node {
	t.Helper()
	if key == nil {
		key = p256(t)
	}
	if spec.Key == nil {
		spec.Key = key.Public()
	}
	if spec.Signer == nil {
		spec.Signer = key
		if parent != nil {
			spec.Signer = parent.key
		}
	}
	if spec.Issuer == nil && parent != nil {
		spec.Issuer = parent.cert
	}
	der, err := spec.DER()
	if err != nil {
		t.Fatal(err)
	}
	return &node{parse(t, der), key}
}

func certs(n ...*node) []*x509.Certificate {
	out := make([]*x509.Certificate, len(n))
	for i, x := range n {
		out[i] = x.cert
	}
	return out
}

// verify runs Verify counting the signatures it checks.
func verify(chain, roots []*x509.Certificate, at time.Time) (error, int) {
	var n int
	err := x509chain.VerifyCounting(chain, roots, at, &n)
	return err, n
}

// checkClass asserts that err wraps want (nil: no error) and no other
// sentinel of the package.
func checkClass(t *testing.T, err, want error) {
	t.Helper()
	if want == nil {
		if err != nil {
			t.Fatalf("want pass, got %v", err)
		}
		return
	}
	if !errors.Is(err, want) {
		t.Fatalf("got %v, want %v", err, want)
	}
	for _, s := range []error{x509chain.ErrMalformed, x509chain.ErrKey, x509chain.ErrSignature, x509chain.ErrRoot, x509chain.ErrValidity} {
		if s != want && errors.Is(err, s) {
			t.Errorf("error also wraps %v", s)
		}
	}
}

// TestChainWithHugeRSAKeyIsCheap: the finding. An "intermediate" with a
// random 120,000-bit modulus and e = 2^31-1 (no private key needed) under a
// leaf whose signature is 15,000 random bytes: verified leaf-first, as
// sent, the modular exponentiation ran before anything failed (0.6 s). Now
// the key is refused before any signature is checked.
func TestChainWithHugeRSAKeyIsCheap(t *testing.T) {
	root := issue(t, platformtest.CertSpec{Subject: "root", CA: true}, nil, nil)
	huge, err := platformtest.RandomRSAKey(120_000, 1<<31-1)
	if err != nil {
		t.Fatal(err)
	}
	inter := issue(t, platformtest.CertSpec{Subject: "intermediate", Key: huge, Signer: p256(t), CA: true}, nil, root)
	leafSpec := platformtest.CertSpec{Subject: "leaf", Signature: platformtest.RandomBytes(15_000),
		SignatureAlgorithm: x509.SHA256WithRSA, Signer: rsaKey(t)}
	leaf := issue(t, leafSpec, nil, inter)
	if n := huge.N.BitLen(); n != 120_000 || len(leaf.cert.Signature) != 15_000 || len(inter.cert.Raw) > x509chain.MaxCertSize {
		t.Fatalf("built %d bits, %d-byte signature, %d-byte certificate", n, len(leaf.cert.Signature), len(inter.cert.Raw))
	}
	for _, chain := range [][]*x509.Certificate{certs(leaf, inter), certs(leaf, inter, root)} {
		err, n := verify(chain, certs(root), now)
		checkClass(t, err, x509chain.ErrKey)
		if n != 0 {
			t.Errorf("%d signatures checked before the refusal, want 0", n)
		}
		if !strings.Contains(err.Error(), "120000 bits with exponent 2147483647") {
			t.Errorf("error does not say why: %v", err)
		}
	}
}

func rsaKey(t testing.TB) crypto.Signer {
	t.Helper()
	k, err := rsaTestKey()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// TestChainWithKeyOutsideAllowListIsRefusedUnchecked: every key or
// signature algorithm §7 does not allow fails before any signature, even
// when every signature of the chain is genuine.
func TestChainWithKeyOutsideAllowListIsRefusedUnchecked(t *testing.T) {
	root := issue(t, platformtest.CertSpec{Subject: "root", CA: true}, nil, nil)
	rsaRoot := issue(t, platformtest.CertSpec{Subject: "RSA root", CA: true}, rsaKey(t), nil)
	randomRSA := func(bits, e int) any {
		k, err := platformtest.RandomRSAKey(bits, e)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	for _, tc := range []struct {
		name string
		key  any                     // the intermediate's key (signed by the root)
		alg  x509.SignatureAlgorithm // the root's signature on the intermediate
		root *node
	}{
		{"rsa-2048-exponent-2^31-1", randomRSA(2048, 1<<31-1), 0, root},
		{"rsa-2048-exponent-3", randomRSA(2048, 3), 0, root},
		{"rsa-16384", randomRSA(16384, 65537), 0, root},
		{"rsa-1024", randomRSA(1024, 65537), 0, root},
		{"rsa-4097", randomRSA(4097, 65537), 0, root},
		{"ed25519", ed25519Key(t), 0, root},
		{"p521", ecKey(t, elliptic.P521()), 0, root},
		{"p224", ecKey(t, elliptic.P224()), 0, root},
		{"ecdsa-with-sha1", ecKey(t, elliptic.P256()), x509.ECDSAWithSHA1, root},
		{"sha1-with-rsa", ecKey(t, elliptic.P256()), x509.SHA1WithRSA, rsaRoot},
	} {
		t.Run(tc.name, func(t *testing.T) {
			inter := issue(t, platformtest.CertSpec{Subject: tc.name, Key: tc.key, SignatureAlgorithm: tc.alg, CA: true}, nil, tc.root)
			for _, chain := range [][]*x509.Certificate{certs(inter), certs(inter, tc.root)} {
				err, n := verify(chain, certs(tc.root), now)
				checkClass(t, err, x509chain.ErrKey)
				if n != 0 {
					t.Errorf("%d signatures checked, want 0", n)
				}
			}
		})
	}
}

func ecKey(t testing.TB, c elliptic.Curve) any {
	t.Helper()
	k, err := ecdsa.GenerateKey(c, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return &k.PublicKey
}

// TestHostileChains: the attacker's chains of platformtest.HostileChains
// are refused with their class, after at most the signatures they allow.
func TestHostileChains(t *testing.T) {
	root := issue(t, platformtest.CertSpec{Subject: "root", CA: true}, nil, nil)
	hs, err := platformtest.HostileChains(root.cert, root.key, p256(t).Public())
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range hs {
		t.Run(h.Name, func(t *testing.T) {
			size := 0
			for _, d := range h.Chain {
				size += len(d)
			}
			if size > platformtest.HostileChainsBodyLimit+x509chain.MaxCertSize {
				t.Fatalf("%d bytes of DER", size)
			}
			chain, err := x509chain.Parse(h.Chain)
			if err != nil {
				checkClass(t, err, h.Want)
				return
			}
			err, n := verify(chain, certs(root), now)
			checkClass(t, err, h.Want)
			if n > h.Signatures {
				t.Errorf("%d signatures checked, at most %d", n, h.Signatures)
			}
		})
	}
}

// TestRootOutsideAllowList: a configured root whose key is not allowed
// refuses every chain before any signature, and ParseRootsPEM refuses it at
// load with the reason.
func TestRootOutsideAllowList(t *testing.T) {
	weak := issue(t, platformtest.CertSpec{Subject: "P-521 root", CA: true}, p521(t), nil)
	good := issue(t, platformtest.CertSpec{Subject: "root", CA: true}, nil, nil)
	inter := issue(t, platformtest.CertSpec{Subject: "intermediate", CA: true}, nil, good)
	err, n := verify(certs(inter), certs(good, weak), now)
	checkClass(t, err, x509chain.ErrKey)
	if n != 0 {
		t.Errorf("%d signatures checked", n)
	}
	_, err = x509chain.ParseRootsPEM(append(pemOf(good.cert), pemOf(weak.cert)...))
	checkClass(t, err, x509chain.ErrKey)
	if !strings.Contains(err.Error(), "root 1 (CN=P-521 root)") || !strings.Contains(err.Error(), "P-521") {
		t.Errorf("error does not name the root and its key: %v", err)
	}
	if roots, err := x509chain.ParseRootsPEM(pemOf(good.cert)); err != nil || len(roots) != 1 {
		t.Errorf("good root: %v", err)
	}
}

func p521(t testing.TB) crypto.Signer {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P521(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// TestForgedIntermediateKeyNeverUsed: an untrusted intermediate's key is
// not used: the intermediate is checked (and refused) with the root's key
// first, so the leaf's signature is never checked.
func TestForgedIntermediateKeyNeverUsed(t *testing.T) {
	root := issue(t, platformtest.CertSpec{Subject: "root", CA: true}, nil, nil)
	forged := issue(t, platformtest.CertSpec{Subject: "forged", CA: true, Signer: p256(t)}, nil, root)
	leaf := issue(t, platformtest.CertSpec{Subject: "leaf"}, nil, forged)
	for name, chain := range map[string][]*x509.Certificate{"root-sent": certs(leaf, forged, root), "root-not-sent": certs(leaf, forged)} {
		err, n := verify(chain, certs(root), now)
		want := x509chain.ErrSignature
		if name == "root-not-sent" {
			want = x509chain.ErrRoot
		}
		checkClass(t, err, want)
		if n != 1 {
			t.Errorf("%s: %d signatures checked, want 1", name, n)
		}
	}
}
