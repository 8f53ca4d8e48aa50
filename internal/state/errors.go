package state

import (
	"errors"

	"github.com/attestd/attestd/crypto/secret"
	"github.com/attestd/attestd/store"
)

// Sentinel errors. Validation errors wrap model.ErrInvalid instead and name
// the offending field. No error of this package holds secret material.
var (
	// ErrNotFound: the account, app, key, secret, pin or ban named does not
	// exist.
	ErrNotFound = errors.New("state: not found")
	// ErrCorrupt: a stored record does not decode, or a sealed value in it
	// does not open (wrong master key, or a value moved to another key).
	ErrCorrupt = errors.New("state: stored record is corrupt or sealed with another master key")
	// ErrRefused: the change is well-formed but would leave the registry
	// unsafe (retire the active key, a host left with one pin without force,
	// remove the active deployment key, ...).
	ErrRefused = errors.New("state: refused")
)

// Sealer seals values at rest and opens them again; the AAD binds a sealed
// value to where it is stored. crypto/envelope's *Keyring implements it.
// Implementations must be safe for concurrent use.
type Sealer interface {
	Seal(plaintext []byte, aad string) (string, error)
	Open(sealed, aad string) (secret.Value, error)
}

// Mutation computes one atomic change from the current snapshot; pass it to
// store.Writer.Update. Mutations are pure: they may be called again on a
// newer snapshot.
type Mutation = func(*store.Snapshot) (store.Changes, error)
