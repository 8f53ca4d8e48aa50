package x509chain_test

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"fmt"
	"os"
	"path/filepath"
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
