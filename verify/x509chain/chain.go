package x509chain

import (
	"bytes"
	"crypto/x509"
	"fmt"
	"time"
)

// Bounds checked before any certificate is parsed.
const (
	// MaxCerts is the largest number of certificates a chain may hold.
	MaxCerts = 8
	// MaxCertSize is the largest DER certificate accepted, in bytes.
	MaxCertSize = 16 << 10
)

// Parse checks the bounds (1 to MaxCerts certificates of at most MaxCertSize
// bytes each) and then parses each DER certificate, leaf first. The
// certificates returned keep references to ders; the caller must not modify
// them while the certificates are in use.
func Parse(ders [][]byte) ([]*x509.Certificate, error) {
	if len(ders) == 0 {
		return nil, fmt.Errorf("%w: no certificates", ErrMalformed)
	}
	if len(ders) > MaxCerts {
		return nil, fmt.Errorf("%w: %d certificates, at most %d", ErrMalformed, len(ders), MaxCerts)
	}
	for i, d := range ders {
		if len(d) == 0 || len(d) > MaxCertSize {
			return nil, fmt.Errorf("%w: certificate %d is %d bytes, at most %d", ErrMalformed, i, len(d), MaxCertSize)
		}
	}
	certs := make([]*x509.Certificate, len(ders))
	for i, d := range ders {
		c, err := x509.ParseCertificate(d)
		if err != nil {
			return nil, fmt.Errorf("%w: certificate %d: %w", ErrMalformed, i, err)
		}
		certs[i] = c
	}
	return certs, nil
}

// Verify checks, in this order, that each certificate of chain (leaf first)
// is signed by the next one, that the last is signed by or equal to one of
// roots, and that every certificate of the chain, and a root it ends at, is
// within its validity at now (NotBefore <= now <= NotAfter).
//
// Signatures are checked in the order given: issuer and subject names are
// not compared, as one real StrongBox chain names the wrong issuer. A
// certificate after the first that explicitly says it is not a CA (basic
// constraints present with cA false) cannot sign the one before it. Chain
// and roots are only read.
func Verify(chain, roots []*x509.Certificate, now time.Time) error {
	if len(chain) == 0 {
		return fmt.Errorf("%w: no certificates", ErrMalformed)
	}
	for i := 0; i+1 < len(chain); i++ {
		if err := signedBy(chain[i], chain[i+1]); err != nil {
			return fmt.Errorf("%w: certificate %d by certificate %d: %w", ErrSignature, i, i+1, err)
		}
	}
	last := chain[len(chain)-1]
	found, valid := false, false
	for _, r := range roots {
		if r == nil || !endsAt(last, r) {
			continue
		}
		found = true
		if within(r, now) {
			valid = true
			break
		}
	}
	if !found {
		return fmt.Errorf("%w: certificate %d (%s)", ErrRoot, len(chain)-1, last.Subject)
	}
	if !valid {
		return fmt.Errorf("%w: every root that certificate %d ends at is expired or not yet valid", ErrValidity, len(chain)-1)
	}
	for i, c := range chain {
		if !within(c, now) {
			return fmt.Errorf("%w: certificate %d valid %s to %s, checked at %s", ErrValidity, i,
				c.NotBefore.UTC().Format(time.RFC3339), c.NotAfter.UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339))
		}
	}
	return nil
}

// signedBy reports whether child's signature verifies with parent's key.
func signedBy(child, parent *x509.Certificate) error {
	if parent.BasicConstraintsValid && !parent.IsCA {
		return fmt.Errorf("signer is not a CA")
	}
	return parent.CheckSignature(child.SignatureAlgorithm, child.RawTBSCertificate, child.Signature)
}

// endsAt reports whether last is root, or is signed by root's key.
func endsAt(last, root *x509.Certificate) bool {
	if bytes.Equal(last.Raw, root.Raw) {
		return true
	}
	return root.CheckSignature(last.SignatureAlgorithm, last.RawTBSCertificate, last.Signature) == nil
}

func within(c *x509.Certificate, now time.Time) bool {
	return !now.Before(c.NotBefore) && !now.After(c.NotAfter)
}
