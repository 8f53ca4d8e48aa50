package androidkey

import (
	"crypto/x509"
	"embed"
	"fmt"

	"github.com/attestd/attestd/verify/x509chain"
)

// rootFiles holds Google's hardware attestation roots as published at
// https://android.googleapis.com/attestation/root: three issues of the RSA
// root whose subject is serialNumber=f92009e853b6b045 (2016-2026, 2019-2034,
// 2022-2042, one key) and the ECDSA P-384 "Key Attestation CA1" (2025-2035).
// It is read-only.
//
//go:embed roots/*.pem
var rootFiles embed.FS

// DefaultRoots returns Google's hardware attestation roots, parsed afresh on
// each call; callers parse once and keep the slice.
func DefaultRoots() ([]*x509.Certificate, error) {
	files, err := rootFiles.ReadDir("roots")
	if err != nil {
		return nil, fmt.Errorf("androidkey: built-in roots: %w", err)
	}
	var all []byte
	for _, f := range files {
		b, err := rootFiles.ReadFile("roots/" + f.Name())
		if err != nil {
			return nil, fmt.Errorf("androidkey: built-in roots: %w", err)
		}
		all = append(all, b...)
		all = append(all, '\n')
	}
	roots, err := ParseRootsPEM(all)
	if err != nil {
		return nil, fmt.Errorf("androidkey: built-in roots: %w", err)
	}
	return roots, nil
}

// ParseRootsPEM parses an --android-roots file: one or more PEM
// certificates that replace the built-in roots. A root whose key or
// signature algorithm is outside §7's allow-list is refused (the error
// names it and wraps x509chain.ErrKey). An error wraps ErrMalformed.
func ParseRootsPEM(b []byte) ([]*x509.Certificate, error) {
	roots, err := x509chain.ParseRootsPEM(b)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	return roots, nil
}
