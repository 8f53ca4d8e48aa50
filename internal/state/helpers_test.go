package state

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"testing"

	"github.com/attestd/attestd/crypto/secret"
	"github.com/attestd/attestd/store"
)

// testSealer is AES-256-GCM with the AAD, standing in for crypto/envelope.
type testSealer struct{ aead cipher.AEAD }

func newTestSealer(t testing.TB) *testSealer {
	t.Helper()
	key := make([]byte, 32)
	rand.Read(key)
	blk, err := aes.NewCipher(key)
	if err != nil {
		t.Fatal(err)
	}
	aead, err := cipher.NewGCM(blk)
	if err != nil {
		t.Fatal(err)
	}
	return &testSealer{aead: aead}
}

func (s *testSealer) Seal(pt []byte, aad string) (string, error) {
	nonce := make([]byte, s.aead.NonceSize())
	rand.Read(nonce)
	return base64.RawURLEncoding.EncodeToString(s.aead.Seal(nonce, nonce, pt, []byte(aad))), nil
}

func (s *testSealer) Open(sealed, aad string) (secret.Value, error) {
	b, err := base64.RawURLEncoding.DecodeString(sealed)
	if err != nil || len(b) < s.aead.NonceSize() {
		return secret.Value{}, errors.New("malformed")
	}
	pt, err := s.aead.Open(nil, b[:s.aead.NonceSize()], b[s.aead.NonceSize():], []byte(aad))
	if err != nil {
		return secret.Value{}, errors.New("does not open")
	}
	return secret.New(pt), nil
}

// commit applies ch to snap as a store would, returning the new snapshot.
func commit(t *testing.T, snap *store.Snapshot, ch store.Changes) *store.Snapshot {
	t.Helper()
	next := &store.Snapshot{Revision: 1, Entries: map[string]store.Entry{}}
	if snap != nil {
		next.Revision = snap.Revision + 1
		for k, e := range snap.Entries {
			next.Entries[k] = e
		}
	}
	if ch.Empty() {
		if snap == nil {
			return &store.Snapshot{Entries: map[string]store.Entry{}}
		}
		return snap
	}
	for k, v := range ch.Put {
		next.Entries[k] = store.Entry{Value: v, ModRevision: next.Revision}
	}
	for _, k := range ch.Delete {
		delete(next.Entries, k)
	}
	return next
}

// run applies m to snap and commits it, failing the test on error.
func run(t *testing.T, snap *store.Snapshot, m Mutation) *store.Snapshot {
	t.Helper()
	ch, err := m(snap)
	if err != nil {
		t.Fatalf("mutation: %v", err)
	}
	return commit(t, snap, ch)
}

func emptySnap() *store.Snapshot { return &store.Snapshot{Entries: map[string]store.Entry{}} }
