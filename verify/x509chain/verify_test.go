package x509chain_test

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"sync"
	"testing"

	"github.com/attestd/attestd/verify/platformtest"
	"github.com/attestd/attestd/verify/x509chain"
)

// rsaTestKey is one RSA-2048 key for the whole test binary (generating one
// takes a while).
var rsaTestKey = sync.OnceValues(func() (*rsa.PrivateKey, error) { return rsa.GenerateKey(rand.Reader, 2048) })

func ed25519Key(t testing.TB) any {
	t.Helper()
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return pub
}

func pemOf(c *x509.Certificate) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
}

// TestVerify: §7's order, anchor first, with the signatures each case
// checks.
func TestVerify(t *testing.T) {
	from, to := now.AddDate(-5, 0, 0), now.AddDate(5, 0, 0)
	valid := func(s platformtest.CertSpec) platformtest.CertSpec { s.NotBefore, s.NotAfter = from, to; return s }
	root := issue(t, valid(platformtest.CertSpec{Subject: "root", CA: true}), nil, nil)
	// The same root key issued again, expired (as Google's 2016 RSA root
	// is since 2026-05-24): it stands for the configured root by its key.
	oldRoot := issue(t, platformtest.CertSpec{Subject: "root", CA: true, NotBefore: now.AddDate(-10, 0, 0), NotAfter: now.AddDate(-1, 0, 0)}, root.key, nil)
	inter := issue(t, valid(platformtest.CertSpec{Subject: "intermediate", CA: true}), nil, root)
	leaf := issue(t, valid(platformtest.CertSpec{Subject: "leaf", NotCA: true}), nil, inter)
	// The StrongBox quirk: the leaf names the root as its issuer, and is
	// signed by the intermediate.
	misnamed := issue(t, valid(platformtest.CertSpec{Subject: "leaf", Issuer: root.cert}), nil, inter)
	expiredLeaf := issue(t, platformtest.CertSpec{Subject: "leaf", NotBefore: from, NotAfter: now.AddDate(0, 0, -1)}, nil, inter)
	futureLeaf := issue(t, platformtest.CertSpec{Subject: "leaf", NotBefore: now.AddDate(0, 0, 1), NotAfter: to}, nil, inter)
	expiredInter := issue(t, platformtest.CertSpec{Subject: "intermediate", CA: true, NotBefore: from, NotAfter: now.AddDate(0, 0, -1)}, nil, root)
	futureInter := issue(t, platformtest.CertSpec{Subject: "intermediate", CA: true, NotBefore: now.AddDate(0, 0, 1), NotAfter: to}, nil, root)
	underExpired := issue(t, valid(platformtest.CertSpec{Subject: "leaf"}), nil, expiredInter)
	underFuture := issue(t, valid(platformtest.CertSpec{Subject: "leaf"}), nil, futureInter)
	notCA := issue(t, valid(platformtest.CertSpec{Subject: "not a CA", NotCA: true}), nil, root)
	underNotCA := issue(t, valid(platformtest.CertSpec{Subject: "leaf"}), nil, notCA)
	noConstraints := issue(t, valid(platformtest.CertSpec{Subject: "no basic constraints"}), nil, root)
	underNoConstraints := issue(t, valid(platformtest.CertSpec{Subject: "leaf"}), nil, noConstraints)
	other := issue(t, valid(platformtest.CertSpec{Subject: "other root", CA: true}), nil, nil)
	notCARoot := issue(t, valid(platformtest.CertSpec{Subject: "root that is no CA", NotCA: true}), nil, nil)
	underNotCARoot := issue(t, valid(platformtest.CertSpec{Subject: "leaf"}), nil, notCARoot)
	nine := certs(leaf, inter, root, root, root, root, root, root, root)

	for _, tc := range []struct {
		name  string
		chain []*x509.Certificate
		roots []*x509.Certificate
		want  error
		sigs  int // signatures checked
	}{
		{"pass/root-sent", certs(leaf, inter, root), certs(root), nil, 2},
		{"pass/root-not-sent", certs(leaf, inter), certs(root), nil, 2},
		{"pass/leaf-signed-by-root", certs(inter), certs(root), nil, 1},
		{"pass/nil-root-skipped", certs(leaf, inter), []*x509.Certificate{nil, root.cert}, nil, 2},
		{"pass/expired-copy-of-root-sent-anchors-by-key", certs(leaf, inter, oldRoot), certs(root), nil, 2},
		{"pass/only-expired-issue-of-root-configured", certs(leaf, inter), certs(oldRoot), nil, 2},
		{"pass/expired-root-sent-and-configured", certs(leaf, inter, oldRoot), certs(oldRoot), nil, 2},
		{"pass/same-key-configured-twice-checked-once", certs(leaf, inter), certs(oldRoot, root), nil, 2},
		{"pass/issuer-name-not-compared", certs(misnamed, inter, root), certs(root), nil, 2},
		{"pass/leaf-expired", certs(expiredLeaf, inter, root), certs(root), nil, 2},
		{"pass/leaf-not-yet-valid", certs(futureLeaf, inter), certs(root), nil, 2},
		{"pass/signer-without-basic-constraints", certs(underNoConstraints, noConstraints), certs(root), nil, 2},

		{"fail/empty", nil, certs(root), x509chain.ErrMalformed, 0},
		// A leaf with a root's key would stand for the root unchecked: its
		// extensions (an attestation's challenge) the sender's to write.
		{"fail/root-alone", certs(root), certs(root), x509chain.ErrRoot, 0},
		{"fail/expired-root-copy-alone", certs(oldRoot), certs(root), x509chain.ErrRoot, 0},
		{"fail/chain-of-nine", nine, certs(root), x509chain.ErrMalformed, 0},
		{"fail/wrong-anchor", certs(leaf, inter), certs(other), x509chain.ErrRoot, 1},
		{"fail/wrong-anchor-sent", certs(leaf, inter, other), certs(root), x509chain.ErrRoot, 1},
		{"fail/no-roots", certs(leaf, inter), nil, x509chain.ErrRoot, 0},
		{"fail/order", certs(inter, leaf, root), certs(root), x509chain.ErrSignature, 1},
		{"fail/gap", certs(leaf, root), certs(root), x509chain.ErrSignature, 1},
		{"fail/signer-not-ca", certs(underNotCA, notCA), certs(root), x509chain.ErrSignature, 1},
		{"fail/signer-not-ca-root-sent", certs(underNotCA, notCA, root), certs(root), x509chain.ErrSignature, 1},
		{"fail/configured-root-not-ca", certs(underNotCARoot), certs(notCARoot), x509chain.ErrRoot, 0},
		{"fail/configured-root-not-ca-sent", certs(underNotCARoot, notCARoot), certs(notCARoot), x509chain.ErrSignature, 0},
		{"fail/expired-intermediate", certs(underExpired, expiredInter, root), certs(root), x509chain.ErrValidity, 2},
		{"fail/expired-intermediate-root-not-sent", certs(underExpired, expiredInter), certs(root), x509chain.ErrValidity, 2},
		{"fail/intermediate-not-yet-valid", certs(underFuture, futureInter), certs(root), x509chain.ErrValidity, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err, n := verify(tc.chain, tc.roots, now)
			checkClass(t, err, tc.want)
			if n != tc.sigs {
				t.Errorf("%d signatures checked, want %d", n, tc.sigs)
			}
			if plain := x509chain.Verify(tc.chain, tc.roots, now); (plain == nil) != (err == nil) {
				t.Errorf("Verify = %v, VerifyCounting = %v", plain, err)
			}
		})
	}
}

func TestParse(t *testing.T) {
	root := issue(t, platformtest.CertSpec{Subject: "root", CA: true}, nil, nil)
	if got, err := x509chain.Parse([][]byte{root.cert.Raw}); err != nil || len(got) != 1 {
		t.Fatalf("Parse = %v, %v", got, err)
	}
	nine := make([][]byte, 9)
	for i := range nine {
		nine[i] = root.cert.Raw
	}
	for name, in := range map[string][][]byte{
		"none":       nil,
		"nine":       nine,
		"too-large":  {make([]byte, x509chain.MaxCertSize+1)},
		"empty-cert": {{}},
		"garbage":    {{0x30, 0x01, 0x00}},
	} {
		if _, err := x509chain.Parse(in); !errors.Is(err, x509chain.ErrMalformed) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// TestParseRootsPEMBoundsRootKeys: the issues of one key count once; more
// than MaxRootKeys distinct keys are refused at load (each costs a
// signature check on a chain that does not end at a root's key).
func TestParseRootsPEMBoundsRootKeys(t *testing.T) {
	one := issue(t, platformtest.CertSpec{Subject: "root", CA: true}, nil, nil)
	var same, distinct []byte
	for i := 0; i < x509chain.MaxRootKeys+1; i++ {
		same = append(same, pemOf(issue(t, platformtest.CertSpec{Subject: "root", CA: true}, one.key, nil).cert)...)
		distinct = append(distinct, pemOf(issue(t, platformtest.CertSpec{Subject: "root", CA: true}, nil, nil).cert)...)
	}
	if roots, err := x509chain.ParseRootsPEM(same); err != nil || len(roots) != x509chain.MaxRootKeys+1 {
		t.Errorf("issues of one key: %d, %v", len(roots), err)
	}
	_, err := x509chain.ParseRootsPEM(distinct)
	checkClass(t, err, x509chain.ErrMalformed)
}

func TestParseRootsPEM(t *testing.T) {
	for name, in := range map[string]string{
		"empty":       "",
		"no-blocks":   "just text",
		"other-block": "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n",
		"bad-cert":    "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
	} {
		if _, err := x509chain.ParseRootsPEM([]byte(in)); !errors.Is(err, x509chain.ErrMalformed) {
			t.Errorf("%s: %v", name, err)
		}
	}
}
