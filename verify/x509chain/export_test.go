package x509chain

import (
	"crypto/x509"
	"time"
)

// VerifyCounting is Verify that adds to *n one per signature it checks.
func VerifyCounting(chain, roots []*x509.Certificate, now time.Time, n *int) error {
	return verify(chain, roots, now, func(signer, c *x509.Certificate) error {
		*n++
		return checkSignedBy(signer, c)
	})
}

// VerifyDERCounting is VerifyDER that adds to *n one per signature it
// checks.
func VerifyDERCounting(ders [][]byte, roots []*x509.Certificate, now time.Time, n *int) ([]*x509.Certificate, error) {
	return verifyDER(ders, roots, now, func(signer, c *x509.Certificate) error {
		*n++
		return checkSignedBy(signer, c)
	})
}

// Preread is preread.
func Preread(der []byte) error { return preread(der) }
