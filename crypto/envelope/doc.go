// Package envelope encrypts secrets at rest (PROTOCOL §8: "secrets and
// private keys are encrypted at rest in every store").
//
// A sealed value is printable ASCII:
//
//	"v1:" KID ":" b64u( nonce[12] || AES-256-GCM ciphertext || tag[16] )
//
// sealed under the master key KID (1-32 characters of [A-Za-z0-9_-]) with
// the additional data "v1:" KID ":" NAME, where NAME is the value's place in
// the store (for example "accounts/acme/keys/k1"). A sealed value thus opens
// only under its own name: copied to another name, it fails with ErrDecrypt.
// Nonces are random (96 bits, from crypto/rand), which is sound for far
// fewer than 2^32 seals per key; rotate keys long before that.
//
// Master keys live in a key file (see ParseKeyFile): the first key seals,
// every listed key opens. To rotate, list a new key (KeySet.Add), make it
// the first line (KeySet.Activate), re-seal the stored values, and only
// then remove the old line (KeySet.Remove); KeyID tells which key a sealed
// value names without opening it. `attestctl master-key` does this.
//
// Who may import: the store layer, attestctl and the daemon's wiring. It
// imports only the standard library and crypto/secret. A *Keyring is
// immutable and safe for concurrent use.
package envelope

import "errors"

// Errors returned by this package, wrapped with %w; test with errors.Is.
// Messages never include key material or plaintext.
var (
	// ErrMalformed: a sealed value or key file is not of the documented
	// shape.
	ErrMalformed = errors.New("envelope: malformed")
	// ErrUnknownKey: a sealed value names a key id that is not in the
	// keyring.
	ErrUnknownKey = errors.New("envelope: unknown key id")
	// ErrDecrypt: authentication failed: wrong key, wrong name (AAD), or
	// altered ciphertext.
	ErrDecrypt = errors.New("envelope: decryption failed")
	// ErrTooLarge: a plaintext, sealed value or key file exceeds its
	// limit (MaxPlaintext, MaxSealedLen, MaxKeyFileSize).
	ErrTooLarge = errors.New("envelope: too large")
	// ErrConfig: an invalid key, key id or keyring.
	ErrConfig = errors.New("envelope: invalid key")
)
