package x509chain_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"math/big"
	"testing"
	"time"

	"github.com/attestd/attestd/verify/x509chain"
)

var now = time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)

type node struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
}

// issue makes a certificate for key (fresh when nil) signed by parent
// (self-signed when nil), valid [from, to].
func issue(t *testing.T, name string, key *ecdsa.PrivateKey, parent *node, from, to time.Time, ca bool) *node {
	t.Helper()
	if key == nil {
		var err error
		if key, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
			t.Fatal(err)
		}
	}
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl := &x509.Certificate{SerialNumber: serial, Subject: pkix.Name{CommonName: name}, NotBefore: from, NotAfter: to,
		BasicConstraintsValid: true, IsCA: ca, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature}
	signer, parentCert := key, tmpl
	if parent != nil {
		signer, parentCert = parent.key, parent.cert
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parentCert, &key.PublicKey, signer)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return &node{c, key}
}

func TestVerify(t *testing.T) {
	long := func() (time.Time, time.Time) { return now.AddDate(-5, 0, 0), now.AddDate(5, 0, 0) }
	from, to := long()
	root := issue(t, "root", nil, nil, from, to, true)
	// The same root key re-issued: an old, expired certificate and a current one.
	oldRoot := issue(t, "root", root.key, nil, now.AddDate(-10, 0, 0), now.AddDate(-1, 0, 0), true)
	inter := issue(t, "intermediate", nil, root, from, to, true)
	leaf := issue(t, "leaf", nil, inter, from, to, false)
	notCA := issue(t, "not a CA", nil, root, from, to, false)
	leafUnderNotCA := issue(t, "leaf", nil, notCA, from, to, false)
	expiredLeaf := issue(t, "leaf", nil, inter, from, now.Add(-time.Second), false)
	other := issue(t, "other root", nil, nil, from, to, true)

	chain := func(n ...*node) []*x509.Certificate {
		var out []*x509.Certificate
		for _, x := range n {
			out = append(out, x.cert)
		}
		return out
	}
	for _, tc := range []struct {
		name  string
		chain []*x509.Certificate
		roots []*x509.Certificate
		want  error
	}{
		{"pass/root-included", chain(leaf, inter, root), chain(root), nil},
		{"pass/root-not-sent", chain(leaf, inter), chain(root), nil},
		{"pass/signed-by-current-reissue", chain(leaf, inter), chain(oldRoot, root), nil},
		{"pass/root-alone", chain(root), chain(root), nil},
		{"pass/nil-root-skipped", chain(leaf, inter), []*x509.Certificate{nil, root.cert}, nil},
		{"fail/empty", nil, chain(root), x509chain.ErrMalformed},
		{"fail/order", chain(inter, leaf, root), chain(root), x509chain.ErrSignature},
		{"fail/gap", chain(leaf, root), chain(root), x509chain.ErrSignature},
		{"fail/signer-not-ca", chain(leafUnderNotCA, notCA), chain(root), x509chain.ErrSignature},
		{"fail/other-root", chain(leaf, inter), chain(other), x509chain.ErrRoot},
		{"fail/no-roots", chain(leaf, inter), nil, x509chain.ErrRoot},
		{"fail/only-expired-root-issue", chain(leaf, inter), chain(oldRoot), x509chain.ErrValidity},
		{"fail/expired-root-sent", chain(leaf, inter, oldRoot), chain(oldRoot, root), x509chain.ErrValidity},
		{"fail/expired-leaf", chain(expiredLeaf, inter), chain(root), x509chain.ErrValidity},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := x509chain.Verify(tc.chain, tc.roots, now)
			if tc.want == nil && err != nil || tc.want != nil && !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
}

func TestParse(t *testing.T) {
	from, to := now.AddDate(-1, 0, 0), now.AddDate(1, 0, 0)
	root := issue(t, "root", nil, nil, from, to, true)
	if certs, err := x509chain.Parse([][]byte{root.cert.Raw}); err != nil || len(certs) != 1 {
		t.Fatalf("Parse = %v, %v", certs, err)
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
