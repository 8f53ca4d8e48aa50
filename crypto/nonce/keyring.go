package nonce

import (
	"crypto/hmac"
	"crypto/sha256"
	"fmt"
	"hash"
	"sync"

	"github.com/attestd/attestd/crypto/secret"
)

const (
	// KeySize is the length in bytes of every nonce key.
	KeySize = 32
	// MaxKeyIDLen is the longest key id; ids are 1-16 characters of
	// [A-Za-z0-9_-].
	MaxKeyIDLen = 16
)

// Keyring holds the nonce keys of a deployment: the active key mints, every
// listed key verifies. It is immutable and safe for concurrent use. The zero
// value is not usable; build one with NewKeyring.
type Keyring struct {
	active *key
	keys   map[string]*key
}

// key is one HMAC key with a pool of ready MAC states, so that neither
// Issue nor Check allocates in the steady state.
type key struct {
	id     string
	prefix []byte // "v1." id "."
	pool   sync.Pool
}

// macState is a per-call scratch area, reused through key.pool. Nothing in
// it is secret beyond what the hash.Hash holds.
type macState struct {
	h    hash.Hash
	body [bodyLen]byte
	sum  [sha256.Size]byte
}

// NewKeyring returns a keyring that mints with keys[active] and verifies
// with every key in keys. Each key id must be 1-16 characters of
// [A-Za-z0-9_-] and each key exactly KeySize bytes. The keyring keeps its own
// copies; keys may be reused by the caller.
func NewKeyring(active string, keys map[string]secret.Value) (*Keyring, error) {
	if len(keys) == 0 {
		return nil, fmt.Errorf("no keys: %w", ErrConfig)
	}
	kr := &Keyring{keys: make(map[string]*key, len(keys))}
	for id, v := range keys {
		if !validKeyID([]byte(id)) {
			return nil, fmt.Errorf("key id %q: want 1-%d of [A-Za-z0-9_-]: %w", id, MaxKeyIDLen, ErrConfig)
		}
		if v.Len() != KeySize {
			return nil, fmt.Errorf("key %q: want %d bytes, got %d: %w", id, KeySize, v.Len(), ErrConfig)
		}
		kr.keys[id] = newKey(id, v)
	}
	kr.active = kr.keys[active]
	if kr.active == nil {
		return nil, fmt.Errorf("active key %q is not listed: %w", active, ErrConfig)
	}
	return kr, nil
}

func newKey(id string, v secret.Value) *key {
	raw := append([]byte(nil), v.Reveal()...)
	k := &key{id: id, prefix: []byte(version + id + ".")}
	k.pool.New = func() any { return &macState{h: hmac.New(sha256.New, raw)} }
	return k
}

// ActiveKeyID is the id of the key that mints.
func (kr *Keyring) ActiveKeyID() string { return kr.active.id }

func (k *key) get() *macState { return k.pool.Get().(*macState) }

func (k *key) put(st *macState) { k.pool.Put(st) }

// tag computes the truncated MAC of prefix || st.body[:signedLen] into
// st.sum[:tagLen].
func (k *key) tag(st *macState) []byte {
	st.h.Reset()
	st.h.Write(k.prefix)
	st.h.Write(st.body[:signedLen])
	return st.h.Sum(st.sum[:0])[:tagLen]
}

func validKeyID(id []byte) bool {
	if len(id) == 0 || len(id) > MaxKeyIDLen {
		return false
	}
	for _, c := range id {
		if !isURLChar(c) {
			return false
		}
	}
	return true
}

// isURLChar reports whether c is in [A-Za-z0-9_-]: the key id characters,
// which are also the base64url alphabet.
func isURLChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_'
}
