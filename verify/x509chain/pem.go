package x509chain

import (
	"crypto/x509"
	"encoding/pem"
	"fmt"
)

// Bounds on a root file.
const (
	// MaxRootsPEMSize is the largest PEM root file accepted, in bytes.
	MaxRootsPEMSize = 1 << 20
	// MaxRoots is the largest number of roots one file may hold.
	MaxRoots = 64
	// MaxRootKeys is the largest number of distinct keys among them: a
	// chain that does not end at a root's key costs one signature check per
	// distinct root key, so this bounds what an attacker makes a node
	// spend (8 P-384 verifications at worst). Google's roots hold 2 keys
	// (the RSA root issued three times, and Key Attestation CA1), Apple's 1.
	MaxRootKeys = 8
)

// ParseRootsPEM parses one or more PEM "CERTIFICATE" blocks, as given with
// --android-roots or --apple-roots, and checks each root against the
// allow-list (CheckAlgorithms), so that a root Verify would refuse is
// refused when it is loaded. Text outside the blocks is ignored. A block of
// another type, a certificate that does not parse or a file without any
// certificate is an error wrapping ErrMalformed; a root whose key or
// signature algorithm is not allowed, one wrapping ErrKey; more than
// MaxRoots certificates or MaxRootKeys distinct keys, ErrMalformed. Errors
// name the root by its index in the file and its subject.
func ParseRootsPEM(b []byte) ([]*x509.Certificate, error) {
	if len(b) > MaxRootsPEMSize {
		return nil, fmt.Errorf("%w: root file is %d bytes, at most %d", ErrMalformed, len(b), MaxRootsPEMSize)
	}
	var roots []*x509.Certificate
	for {
		var blk *pem.Block
		blk, b = pem.Decode(b)
		if blk == nil {
			break
		}
		if blk.Type != "CERTIFICATE" {
			return nil, fmt.Errorf("%w: PEM block %q, want CERTIFICATE", ErrMalformed, blk.Type)
		}
		if len(roots) == MaxRoots {
			return nil, fmt.Errorf("%w: more than %d roots", ErrMalformed, MaxRoots)
		}
		c, err := x509.ParseCertificate(blk.Bytes)
		if err != nil {
			return nil, fmt.Errorf("%w: root %d: %w", ErrMalformed, len(roots), err)
		}
		if err := CheckAlgorithms(c); err != nil {
			return nil, fmt.Errorf("root %d (%s): %w", len(roots), c.Subject, err)
		}
		roots = append(roots, c)
	}
	if len(roots) == 0 {
		return nil, fmt.Errorf("%w: no PEM certificate found", ErrMalformed)
	}
	keys := 0
	for i, r := range roots {
		if !seenKey(roots[:i], r.PublicKey) {
			keys++
		}
	}
	if keys > MaxRootKeys {
		return nil, fmt.Errorf("%w: roots with %d distinct keys, at most %d", ErrMalformed, keys, MaxRootKeys)
	}
	return roots, nil
}
