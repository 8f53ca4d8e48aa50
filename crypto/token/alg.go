package token

// Alg is a JWS algorithm name (RFC 7518). Only the three constants below
// exist for this package; anything else is refused.
type Alg string

// The algorithms of docs/protocol.md §3.
const (
	HS256 Alg = "HS256" // HMAC-SHA256; the key is a secret of at least 32 bytes
	ES256 Alg = "ES256" // ECDSA P-256 with SHA-256; raw r‖s signature (64 bytes)
	EdDSA Alg = "EdDSA" // Ed25519 (RFC 8037)
)

// Valid reports whether a is one of HS256, ES256 and EdDSA.
func (a Alg) Valid() bool { return a == HS256 || a == ES256 || a == EdDSA }

// Symmetric reports whether a uses a shared secret (HS256).
func (a Alg) Symmetric() bool { return a == HS256 }

// sigLen is the length in bytes of a's signatures, 0 for an invalid Alg.
func (a Alg) sigLen() int {
	switch a {
	case HS256:
		return 32
	case ES256, EdDSA:
		return 64
	}
	return 0
}
