package androidkey_test

import (
	"crypto/x509"
	"encoding/pem"
	"errors"
	"strings"
	"testing"

	"github.com/attestd/attestd/verify/androidkey"
	"github.com/attestd/attestd/verify/platformtest"
	"github.com/attestd/attestd/verify/x509chain"
)

// TestRootFileOutsideAllowListRefused: an --android-roots file whose root
// has a key §7 does not allow (here e = 3) is refused when it is loaded,
// with an error that names the root and says why, so the daemon does not
// start with it.
func TestRootFileOutsideAllowListRefused(t *testing.T) {
	f := newFixture(t)
	weakKey, err := platformtest.RandomRSAKey(2048, 3)
	if err != nil {
		t.Fatal(err)
	}
	weak, err := platformtest.CertSpec{Subject: "weak root", Key: weakKey, Signer: newKey(t), CA: true}.DER()
	if err != nil {
		t.Fatal(err)
	}
	file := append(f.ca.RootPEM(), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: weak})...)
	_, err = androidkey.ParseRootsPEM(file)
	if !errors.Is(err, androidkey.ErrMalformed) || !errors.Is(err, x509chain.ErrKey) {
		t.Fatalf("got %v", err)
	}
	for _, want := range []string{"root 1 (CN=weak root)", "exponent 3", "allowed are 2048 to 4096 bits with exponent 65537"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	// The built-in roots pass the same check.
	if _, err := androidkey.DefaultRoots(); err != nil {
		t.Fatal(err)
	}
	var roots []*x509.Certificate
	if roots, err = androidkey.ParseRootsPEM(f.ca.RootPEM()); err != nil || len(roots) != 1 {
		t.Fatalf("%d roots, %v", len(roots), err)
	}
}
