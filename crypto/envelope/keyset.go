package envelope

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"io"
	"slices"

	"github.com/attestd/attestd/crypto/secret"
)

// KeyID returns the id of the master key a sealed value names, without
// opening it; ok is false when s is not of the sealed shape.
func KeyID(sealed string) (kid string, ok bool) {
	if len(sealed) > MaxSealedLen {
		return "", false
	}
	kid, body, ok := split(sealed)
	if !ok || !validB64u(body) {
		return "", false
	}
	return kid, true
}

// KeySet is the parsed content of a master key file, in file order (the
// first key seals), for the tools that rewrite it (master key rotation).
// It holds the keys themselves: never print Marshal's output, write it
// with mode 0600. The zero value is an empty set.
type KeySet struct {
	ids  []string
	keys map[string]secret.Value
}

// ParseKeySet parses a master key file as ParseKeyFile does (same limits,
// same errors) and returns its keys in file order.
func ParseKeySet(b []byte) (*KeySet, error) {
	ks, err := parseKeys(b)
	if err != nil {
		return nil, err
	}
	if _, err := ks.Keyring(); err != nil { // self-test every key
		return nil, err
	}
	return ks, nil
}

// IDs returns the key ids in file order; the first is the active one.
func (ks *KeySet) IDs() []string { return slices.Clone(ks.ids) }

// Active is the id of the key that seals ("" for an empty set).
func (ks *KeySet) Active() string {
	if len(ks.ids) == 0 {
		return ""
	}
	return ks.ids[0]
}

// Has reports whether kid is listed.
func (ks *KeySet) Has(kid string) bool { return slices.Contains(ks.ids, kid) }

// Add lists a fresh random key kid after the others: it opens but does not
// seal until Activate. rnd nil means crypto/rand.
func (ks *KeySet) Add(kid string, rnd io.Reader) error {
	if !validKeyID(kid) {
		return fmt.Errorf("key id %q: want 1-%d of [A-Za-z0-9_-]: %w", kid, MaxKeyIDLen, ErrConfig)
	}
	if ks.Has(kid) {
		return fmt.Errorf("key id %q is already listed: %w", kid, ErrConfig)
	}
	if len(ks.ids) >= MaxKeys {
		return fmt.Errorf("key file: more than %d keys: %w", MaxKeys, ErrConfig)
	}
	if rnd == nil {
		rnd = rand.Reader
	}
	var raw [KeySize]byte
	defer clear(raw[:])
	if _, err := io.ReadFull(rnd, raw[:]); err != nil {
		return fmt.Errorf("key file: random source: %w", err)
	}
	if ks.keys == nil {
		ks.keys = map[string]secret.Value{}
	}
	ks.ids = append(ks.ids, kid)
	ks.keys[kid] = secret.New(raw[:])
	return nil
}

// Activate moves kid first: it seals from now on; the others still open.
func (ks *KeySet) Activate(kid string) error {
	i := slices.Index(ks.ids, kid)
	if i < 0 {
		return fmt.Errorf("key id %q is not listed: %w", kid, ErrUnknownKey)
	}
	ks.ids = slices.Insert(slices.Delete(ks.ids, i, i+1), 0, kid)
	return nil
}

// Remove unlists kid. The active key cannot be removed.
func (ks *KeySet) Remove(kid string) error {
	i := slices.Index(ks.ids, kid)
	if i < 0 {
		return fmt.Errorf("key id %q is not listed: %w", kid, ErrUnknownKey)
	}
	if i == 0 {
		return fmt.Errorf("key id %q is the active key: %w", kid, ErrConfig)
	}
	ks.ids = slices.Delete(ks.ids, i, i+1)
	delete(ks.keys, kid)
	return nil
}

// Keyring returns the keyring of the set: the first key seals, all open.
func (ks *KeySet) Keyring() (*Keyring, error) {
	if len(ks.ids) == 0 {
		return nil, fmt.Errorf("key file: no keys: %w", ErrMalformed)
	}
	return NewKeyring(ks.ids[0], ks.keys)
}

// Marshal returns the key file content: the header of NewKeyFile, then one
// line per key in order. The caller writes it with mode 0600 and clears it.
func (ks *KeySet) Marshal() []byte {
	out := []byte(keyFileHeader)
	for _, id := range ks.ids {
		out = append(out, id...)
		out = append(out, ':')
		out = base64.StdEncoding.AppendEncode(out, ks.keys[id].Reveal())
		out = append(out, '\n')
	}
	return out
}
