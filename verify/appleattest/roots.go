package appleattest

import (
	"crypto/x509"
	"embed"
	"fmt"

	"github.com/attestd/attestd/verify/x509chain"
)

// rootFiles holds Apple's App Attestation Root CA (P-384, 2020-2045). It is
// read-only.
//
//go:embed roots/*.pem
var rootFiles embed.FS

// DefaultRoots returns Apple's App Attestation Root CA, parsed afresh on
// each call; callers parse once and keep the slice.
func DefaultRoots() ([]*x509.Certificate, error) {
	b, err := rootFiles.ReadFile("roots/apple_app_attestation_root_ca.pem")
	if err != nil {
		return nil, fmt.Errorf("appleattest: built-in root: %w", err)
	}
	roots, err := ParseRootsPEM(b)
	if err != nil {
		return nil, fmt.Errorf("appleattest: built-in root: %w", err)
	}
	return roots, nil
}

// ParseRootsPEM parses an --apple-roots file: one or more PEM certificates
// that replace the built-in root. A root whose key or signature algorithm
// is outside §7's allow-list is refused (the error names it and wraps
// x509chain.ErrKey). An error wraps ErrMalformed.
func ParseRootsPEM(b []byte) ([]*x509.Certificate, error) {
	roots, err := x509chain.ParseRootsPEM(b)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	return roots, nil
}
