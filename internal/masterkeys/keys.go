// Package masterkeys is a node's master keys, following the master key
// file: the keyring that opens the secrets sealed at rest and checks the
// store's record tags (Keys), and what keeps it current (Follower).
//
// The file is read at start, again on a reload (SIGHUP), and whenever a
// store change is sealed under a key the node does not hold (at most once
// a second, and every second while such a change waits), so a node
// follows `attestctl master-key rotate` as soon as the file it reads
// lists the new key. A file that would not open the state being served is
// refused and the held keys stay. A new keyring replaces the old one
// whole, through an atomic pointer: an Open sees the old keys or the new,
// never a mix, and the way to the keys takes no lock and allocates
// nothing.
//
// Nothing here prints a key: the keys live in an *envelope.Keyring and,
// as the file was read, in a secret.Value; errors name files and key ids.
//
// Only packages of this module import it (the daemon wires it).
package masterkeys

import (
	"errors"
	"fmt"
	"hash"
	"sync/atomic"

	"github.com/attestd/attestd/crypto/envelope"
	"github.com/attestd/attestd/crypto/secret"
	"github.com/attestd/attestd/internal/recordauth"
	"github.com/attestd/attestd/internal/state"
	"github.com/attestd/attestd/store/open"
)

// Keys is the node's master keyring: the state.Sealer of the registry and
// of a first start's seeding, and the recordauth.Keys that check the
// store's records. It is safe for concurrent use; a Follower replaces the
// keyring inside it.
type Keys struct {
	path string // the master key file, re-read by path (it is replaced by rename)
	cur  atomic.Pointer[envelope.Keyring]
	// prev, while a new keyring is tried together with the store change
	// that needs it, still opens what the served snapshot's lazily
	// compiled accounts need; nil otherwise.
	prev atomic.Pointer[envelope.Keyring]
	// nudge hears (without blocking Open) that a sealed value named a key
	// id the node does not hold.
	nudge chan struct{}
	// loaded is the file as Load read it, for NewFollower.
	loaded File
}

var (
	_ state.Sealer    = (*Keys)(nil)
	_ recordauth.Keys = (*Keys)(nil)
)

// Load reads the master key file at path (ReadFile's checks) and returns
// its keys. Its errors wrap open.ErrMasterKey and never hold a key.
func Load(path string) (*Keys, error) {
	f, err := ReadFile(path)
	if err != nil {
		return nil, err
	}
	k := &Keys{path: path, nudge: make(chan struct{}, 1), loaded: f}
	k.cur.Store(f.kr)
	return k, nil
}

// Path is the master key file the keys were loaded from and are re-read
// from.
func (k *Keys) Path() string { return k.path }

// Seal seals under the active key (a first start seeds its store with it).
func (k *Keys) Seal(plaintext []byte, name string) (string, error) {
	return k.cur.Load().Seal(plaintext, name)
}

// Open opens a sealed value with the keys held. One sealed under a key id
// the node does not hold nudges the Follower to re-read the file.
func (k *Keys) Open(sealed, name string) (secret.Value, error) {
	v, err := k.cur.Load().Open(sealed, name)
	if err != nil && errors.Is(err, envelope.ErrUnknownKey) {
		if p := k.prev.Load(); p != nil {
			return p.Open(sealed, name)
		}
		k.nudgeFollower()
	}
	return v, err
}

// ActiveKeyID is the id of the key that seals.
func (k *Keys) ActiveKeyID() string { return k.cur.Load().ActiveKeyID() }

// RecordMAC is the record-authentication MAC of master key kid (see
// envelope.Keyring.RecordMAC), from the keys held, as Open finds them.
func (k *Keys) RecordMAC(kid string) (hash.Hash, error) {
	h, err := k.cur.Load().RecordMAC(kid)
	if err != nil && errors.Is(err, envelope.ErrUnknownKey) {
		if p := k.prev.Load(); p != nil {
			return p.RecordMAC(kid)
		}
		k.nudgeFollower()
	}
	return h, err
}

func (k *Keys) nudgeFollower() {
	select {
	case k.nudge <- struct{}{}:
	default:
	}
}

// File is one reading of the master key file.
type File struct {
	content secret.Value
	ids     []string
	kr      *envelope.Keyring
}

// ReadFile reads and parses the master key file at path: mode 0600 or
// stricter, every key self-tested. Its errors wrap open.ErrMasterKey and
// never hold key material.
func ReadFile(path string) (File, error) {
	v, ks, err := open.ReadKeySet(path)
	if err != nil {
		return File{}, err
	}
	kr, err := ks.Keyring()
	if err != nil {
		return File{}, fmt.Errorf("%w file %s: %w", open.ErrMasterKey, path, err)
	}
	return File{content: v, ids: ks.IDs(), kr: kr}, nil
}

// keyError reports whether err is a sealed value that does not open with
// the keys it was given.
func keyError(err error) bool {
	return errors.Is(err, envelope.ErrUnknownKey) || errors.Is(err, envelope.ErrDecrypt)
}
