package x509chain

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"fmt"
)

// The allow-list of PROTOCOL.md §7 for every certificate of a chain and
// every configured root: ECDSA on P-256 or P-384, or RSA of MinRSABits to
// MaxRSABits bits with exponent RSAExponent; signatures with SHA-256,
// SHA-384 or SHA-512. Within it one signature check costs at most an
// RSA-4096 verification with e = 65537 (17 modular multiplications) or a
// P-384 ECDSA verification; outside it the cost is the attacker's to choose
// (a 120,000-bit modulus with e = 2^31-1 costs about 2,000 times more).
const (
	MinRSABits  = 2048
	MaxRSABits  = 4096
	RSAExponent = 65537
)

// CheckAlgorithms checks c's public key and signature algorithm against the
// allow-list. It reads only what the parser decoded, checks no signature
// and is cheap (a type switch and a bit length). An error wraps ErrKey.
func CheckAlgorithms(c *x509.Certificate) error {
	if err := checkKey(c.PublicKey); err != nil {
		return err
	}
	switch c.SignatureAlgorithm {
	case x509.SHA256WithRSA, x509.SHA384WithRSA, x509.SHA512WithRSA,
		x509.SHA256WithRSAPSS, x509.SHA384WithRSAPSS, x509.SHA512WithRSAPSS,
		x509.ECDSAWithSHA256, x509.ECDSAWithSHA384, x509.ECDSAWithSHA512:
		return nil
	}
	return fmt.Errorf("%w: signature algorithm %v; allowed are RSA or ECDSA with SHA-256, SHA-384 or SHA-512", ErrKey, c.SignatureAlgorithm)
}

func checkKey(pub any) error {
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		if k.Curve == elliptic.P256() || k.Curve == elliptic.P384() {
			return nil
		}
		return fmt.Errorf("%w: ECDSA key on %s; allowed are P-256 and P-384", ErrKey, k.Curve.Params().Name)
	case *rsa.PublicKey:
		if bits := k.N.BitLen(); bits < MinRSABits || bits > MaxRSABits || k.E != RSAExponent {
			return fmt.Errorf("%w: RSA key of %d bits with exponent %d; allowed are %d to %d bits with exponent %d",
				ErrKey, bits, k.E, MinRSABits, MaxRSABits, RSAExponent)
		}
		return nil
	}
	return fmt.Errorf("%w: %T public key; allowed are ECDSA (P-256, P-384) and RSA", ErrKey, pub)
}
