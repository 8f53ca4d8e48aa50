// Package nonce mints and checks the stateless challenges of PROTOCOL §1.
//
// A nonce is printable ASCII of this exact shape (69 to 84 characters):
//
//	"v1." KID "." b64u( expires_at[8, big endian] || random[16] || tag[24] )
//
// where KID is the minting key's id (1-16 characters of [A-Za-z0-9_-]) and
// tag is HMAC-SHA256(key, "v1." KID "." || expires_at || random), truncated
// to 192 bits. The body is 48 bytes, so its 64 base64url characters carry no
// padding bits and every nonce has exactly one spelling.
//
// Every node of a deployment holds the same Keyring, so any node accepts a
// nonce that another node issued; nothing per nonce is shared. Rotation: list
// the new key beside the old one, make it active on every node, and remove the
// old one once its nonces have expired (one nonce lifetime later).
//
// A nonce is single-use only together with a replay set (internal/replay):
// Check identifies the nonce by Parsed.ID, which the caller records there.
//
// Who may import: the attest core and tests. It imports only the standard
// library and crypto/secret. A *Keyring is immutable and safe for concurrent
// use; replace it whole (for example behind an atomic.Pointer) to rotate keys.
package nonce

import "errors"

// Errors returned by this package, wrapped with %w; test with errors.Is.
// ErrMalformed, ErrUnknownKey and ErrBadMAC all map to the public code
// nonce_invalid, and ErrExpired to nonce_expired. ErrConfig and ErrRandom
// are operator or system faults, never a client's.
var (
	// ErrMalformed: the nonce is not of the shape above (length, version,
	// key id characters, encoding).
	ErrMalformed = errors.New("nonce: malformed")
	// ErrUnknownKey: the key id is well formed but not in the keyring.
	ErrUnknownKey = errors.New("nonce: unknown key id")
	// ErrBadMAC: the tag does not verify; the nonce was not issued by this
	// deployment or was altered.
	ErrBadMAC = errors.New("nonce: bad MAC")
	// ErrExpired: an authentic nonce whose expires_at is not after now.
	ErrExpired = errors.New("nonce: expired")
	// ErrConfig: NewKeyring or Issue got an invalid key, key id or ttl.
	ErrConfig = errors.New("nonce: invalid configuration")
	// ErrRandom: the random source failed.
	ErrRandom = errors.New("nonce: random source failed")
)
