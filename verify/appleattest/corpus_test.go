package appleattest_test

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/attestd/attestd/verify/appleattest"
	"github.com/attestd/attestd/verify/platformtest"
)

// TestWriteObjectCorpus adds the attacker's x5c chains (those that fit
// MaxAttestationSize) to FuzzAttestationObject's committed corpus when
// ATTESTD_WRITE_CORPUS=1.
func TestWriteObjectCorpus(t *testing.T) {
	if os.Getenv("ATTESTD_WRITE_CORPUS") != "1" {
		t.Skip("set ATTESTD_WRITE_CORPUS=1 to regenerate the corpus")
	}
	ca := newCA(t)
	hs, err := platformtest.HostileChains(ca.Root, ca.RootKey, newP256(t).Public())
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range hs {
		in := input(t, ca, good())
		obj := rewrite(t, in.Attestation, func(w *wire) { w.AttStmt.X5C = h.Chain })
		if len(obj) > appleattest.MaxAttestationSize {
			continue
		}
		path := filepath.Join("testdata", "fuzz", "FuzzAttestationObject", "hostile-x5c-"+h.Name)
		if err := os.WriteFile(path, []byte(fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", obj)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
