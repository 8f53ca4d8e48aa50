package x509chain

import (
	"crypto/x509"
	"time"
)

// VerifyCounting is Verify that adds to *n one per signature it checks.
func VerifyCounting(chain, roots []*x509.Certificate, now time.Time, n *int) error {
	return verify(chain, roots, now, func(signer *x509.Certificate, s signedPart) error {
		*n++
		return checkSignedBy(signer, s)
	})
}

// VerifyDERCounting is VerifyDER that adds to *n one per signature it
// checks.
func VerifyDERCounting(ders [][]byte, roots []*x509.Certificate, now time.Time, n *int) ([]*x509.Certificate, error) {
	return verifyDER(ders, roots, now, func(signer *x509.Certificate, s signedPart) error {
		*n++
		return checkSignedBy(signer, s)
	})
}

// Preread is preread.
func Preread(der []byte) error {
	_, err := preread(der)
	return err
}

// PrereadParts is what preread reads for VerifyDER: the public key, and
// the signature's algorithm, signed bytes and value (ok false when it
// leaves them to the parser).
func PrereadParts(der []byte) (spki []byte, alg x509.SignatureAlgorithm, tbs, sig []byte, ok bool, err error) {
	r, err := preread(der)
	return r.spki, r.signed.alg, r.signed.tbs, r.signed.sig, r.signed.tbs != nil, err
}
