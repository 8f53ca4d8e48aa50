package x509chain_test

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/attestd/attestd/verify/platformtest"
)

// TestWriteChainCorpus regenerates FuzzVerifyChain's fixed roots
// (testdata/fuzz-roots.pem) and committed corpus when
// ATTESTD_WRITE_CORPUS=1; otherwise it is skipped. The roots' private keys
// exist only while it runs.
func TestWriteChainCorpus(t *testing.T) {
	if os.Getenv("ATTESTD_WRITE_CORPUS") != "1" {
		t.Skip("set ATTESTD_WRITE_CORPUS=1 to regenerate the corpus")
	}
	ecRoot := issue(t, platformtest.CertSpec{Subject: "fuzz P-256 root", CA: true}, nil, nil)
	rk, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	rsaRoot := issue(t, platformtest.CertSpec{Subject: "fuzz RSA root", CA: true}, rk, nil)
	if err := os.WriteFile(filepath.Join("testdata", "fuzz-roots.pem"), append(pemOf(ecRoot.cert), pemOf(rsaRoot.cert)...), 0o644); err != nil {
		t.Fatal(err)
	}
	corpus := map[string][][]byte{}
	for _, root := range []*node{ecRoot, rsaRoot} {
		alg := "p256"
		if root == rsaRoot {
			alg = "rsa"
		}
		inter := issue(t, platformtest.CertSpec{Subject: "intermediate", CA: true}, nil, root)
		leaf := issue(t, platformtest.CertSpec{Subject: "leaf"}, nil, inter)
		corpus["genuine-"+alg] = raws(leaf, inter, root)
		corpus["genuine-"+alg+"-root-not-sent"] = raws(leaf, inter)
		old := issue(t, platformtest.CertSpec{Subject: "root", CA: true, NotBefore: fuzzNow.AddDate(-10, 0, 0), NotAfter: fuzzNow.AddDate(-1, 0, 0)}, root.key, nil)
		corpus["expired-root-copy-"+alg] = raws(leaf, inter, old)
		expired := issue(t, platformtest.CertSpec{Subject: "expired", CA: true, NotAfter: fuzzNow.Add(-time.Hour)}, nil, root)
		corpus["expired-intermediate-"+alg] = raws(issue(t, platformtest.CertSpec{Subject: "leaf"}, nil, expired), expired)
		notCA := issue(t, platformtest.CertSpec{Subject: "not a CA", NotCA: true}, nil, root)
		corpus["signer-not-ca-"+alg] = raws(issue(t, platformtest.CertSpec{Subject: "leaf"}, nil, notCA), notCA)
		hs, err := platformtest.HostileChains(root.cert, root.key, p256(t).Public())
		if err != nil {
			t.Fatal(err)
		}
		for _, h := range hs {
			if alg == "p256" || h.Name == "sha1-signatures" {
				corpus["hostile-"+h.Name+"-"+alg] = h.Chain
			}
		}
	}
	for name, chain := range corpus {
		writeCorpus(t, filepath.Join("testdata", "fuzz", "FuzzVerifyChain", name), bytes.Join(chain, nil))
	}
	for name, der := range prereadCorpus(t, ecRoot) {
		writeCorpus(t, filepath.Join("testdata", "fuzz", "FuzzPrereadAgrees", name), der)
	}
}

// prereadCorpus is a certificate of each key and signature algorithm
// FuzzPrereadAgrees starts from, under root: allowed (P-256, P-384,
// RSA-2048 and -4096 keys; ECDSA, PKCS #1 v1.5 and PSS signatures with
// SHA-256, -384 and -512) and not (P-521, Ed25519, RSA-1024, e = 3, the
// hostile chains' huge keys, SHA-1).
func prereadCorpus(t *testing.T, root *node) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	rsaKey := func(bits int) *rsa.PrivateKey {
		k, err := rsa.GenerateKey(rand.Reader, bits)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	r2048, r4096 := rsaKey(2048), rsaKey(4096)
	keys := map[string]crypto.Signer{"p256": p256(t), "p384": ecdsaKey(t, elliptic.P384()), "p521": ecdsaKey(t, elliptic.P521()),
		"rsa2048": r2048, "rsa4096": r4096, "rsa1024": rsaKey(1024)}
	_, ed, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	keys["ed25519"] = ed
	for name, k := range keys {
		out["key-"+name] = issue(t, platformtest.CertSpec{Subject: name}, k, root).cert.Raw
	}
	e3, err := platformtest.RandomRSAKey(2048, 3)
	if err != nil {
		t.Fatal(err)
	}
	out["key-rsa2048-e3"] = issue(t, platformtest.CertSpec{Subject: "e3", Key: e3}, nil, root).cert.Raw
	for _, alg := range []x509.SignatureAlgorithm{x509.SHA256WithRSA, x509.SHA384WithRSA, x509.SHA512WithRSA,
		x509.SHA256WithRSAPSS, x509.SHA384WithRSAPSS, x509.SHA512WithRSAPSS, x509.SHA1WithRSA} {
		out["sig-"+alg.String()] = issue(t, platformtest.CertSpec{Subject: alg.String(), Signer: r2048, SignatureAlgorithm: alg}, nil, nil).cert.Raw
	}
	for _, alg := range []x509.SignatureAlgorithm{x509.ECDSAWithSHA256, x509.ECDSAWithSHA384, x509.ECDSAWithSHA512, x509.ECDSAWithSHA1} {
		out["sig-"+alg.String()] = issue(t, platformtest.CertSpec{Subject: alg.String(), SignatureAlgorithm: alg}, nil, root).cert.Raw
	}
	hs, err := platformtest.HostileChains(root.cert, root.key, p256(t).Public())
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range hs {
		if strings.HasPrefix(h.Name, "huge-rsa") || h.Name == "rsa-16384" || h.Name == "rsa-2048-e31" {
			out["hostile-"+h.Name] = h.Chain[1]
		}
	}
	return out
}

func ecdsaKey(t *testing.T, c elliptic.Curve) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(c, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func raws(n ...*node) [][]byte {
	out := make([][]byte, len(n))
	for i, x := range n {
		out[i] = x.cert.Raw
	}
	return out
}

// writeCorpus writes one []byte input in the format of go test -fuzz.
func writeCorpus(t *testing.T, path string, b []byte) {
	t.Helper()
	if err := os.WriteFile(path, []byte(fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", b)), 0o644); err != nil {
		t.Fatal(err)
	}
}
