package devicekey

import (
	"crypto/x509/pkix"
	"encoding/asn1"
	"fmt"
)

// OIDs of the two algorithm identifiers a P-256 SPKI carries.
const (
	oidECPublicKey = "1.2.840.10045.2.1"
	oidP256        = "1.2.840.10045.3.1.7"
)

type spki struct {
	Algorithm pkix.AlgorithmIdentifier
	PublicKey asn1.BitString
}

// classify explains why b, already refused by Parse's exact matches, is not
// a device key: ErrNotP256 for a well-formed SPKI of another algorithm or
// curve, ErrMalformed for everything else (including a P-256 SPKI with a
// compressed point). b is at most MaxKeyLen bytes.
func classify(b []byte) error {
	if len(b) == PointSize || len(b) == 33 && (b[0] == 2 || b[0] == 3) {
		return fmt.Errorf("want a 65-byte point starting 0x04: %w", ErrMalformed)
	}
	var k spki
	rest, err := asn1.Unmarshal(b, &k)
	if err != nil || len(rest) != 0 {
		return fmt.Errorf("neither an SPKI nor a point: %w", ErrMalformed)
	}
	if alg := k.Algorithm.Algorithm.String(); alg != oidECPublicKey {
		return fmt.Errorf("algorithm %s: %w", alg, ErrNotP256)
	}
	var curve asn1.ObjectIdentifier
	if rest, err := asn1.Unmarshal(k.Algorithm.Parameters.FullBytes, &curve); err != nil || len(rest) != 0 {
		return fmt.Errorf("EC key without a named curve: %w", ErrNotP256)
	}
	if curve.String() != oidP256 {
		return fmt.Errorf("curve %s: %w", curve, ErrNotP256)
	}
	return fmt.Errorf("P-256 SPKI not in its one DER form with an uncompressed point: %w", ErrMalformed)
}
