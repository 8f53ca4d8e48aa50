package appleattest_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"errors"
	"testing"

	"github.com/attestd/attestd/verify/appleattest"
)

type sentinel struct {
	err    error
	reason string
}

func sentinels() []sentinel {
	return []sentinel{
		{appleattest.ErrMalformed, "apple_malformed"},
		{appleattest.ErrChain, "apple_chain"},
		{appleattest.ErrRoot, "apple_root"},
		{appleattest.ErrExpiredCert, "apple_cert_expired"},
		{appleattest.ErrNonce, "apple_nonce"},
		{appleattest.ErrKeyID, "apple_keyid"},
		{appleattest.ErrRPID, "apple_rpid"},
		{appleattest.ErrCounter, "apple_counter"},
		{appleattest.ErrAAGUID, "apple_aaguid"},
	}
}

// checkErr asserts that err wraps want (nil: no error) and no other
// sentinel, and that Reason names it.
func checkErr(t *testing.T, err, want error) {
	t.Helper()
	if want == nil {
		if err != nil {
			t.Fatalf("want pass, got %v (%s)", err, appleattest.Reason(err))
		}
		return
	}
	if !errors.Is(err, want) {
		t.Fatalf("got %v, want %v", err, want)
	}
	reason := "?"
	for _, s := range sentinels() {
		if s.err == want {
			reason = s.reason
		} else if errors.Is(err, s.err) {
			t.Errorf("error also wraps %v", s.err)
		}
	}
	if got := appleattest.Reason(err); got != reason {
		t.Errorf("Reason = %q, want %q", got, reason)
	}
}

func newP256(t testing.TB) *ecdsa.PrivateKey {
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
