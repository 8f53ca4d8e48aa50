package recordauth

import (
	"context"
	"fmt"

	"github.com/attestd/attestd/store"
)

// Mutation is one change computed from a snapshot, as store.Writer.Update
// takes it.
type Mutation = func(*store.Snapshot) (store.Changes, error)

// Store is a store.Store whose Update authenticates what it writes: its
// function sees the verified records without their tags, and the changes
// it returns are tagged, with the manifest, in the same atomic change.
// Update refuses (writing nothing) a store that does not verify, so a
// writer never builds on, nor re-tags, a record written without the
// master key. Load and Watch return the store's snapshots as stored (raw):
// readers verify them with Verify. A *Store is safe for concurrent use.
type Store struct {
	inner store.Store
	keys  Keys
	// retag: see WithRetag.
	retag int
}

var _ store.Store = (*Store)(nil)

// Wrap returns inner with authenticated writes under keys.
func Wrap(inner store.Store, keys Keys) *Store { return &Store{inner: inner, keys: keys} }

// WithKeys returns a Store over the same store that tags under keys (a
// master key rotation tags under the new key). Closing either closes the
// store.
func (s *Store) WithKeys(keys Keys) *Store { return &Store{inner: s.inner, keys: keys} }

// WithRetag returns a Store whose Update also re-tags, in the same change,
// records whose tag names another master key than the active one, so
// that the change holds at most batch records (a master key rotation of a
// small store is then one change).
func (s *Store) WithRetag(batch int) *Store {
	return &Store{inner: s.inner, keys: s.keys, retag: batch}
}

// Unwrap is the store underneath (for its optional interfaces, such as
// store.Health).
func (s *Store) Unwrap() store.Store { return s.inner }

// Keys are the keys the store tags with.
func (s *Store) Keys() Keys { return s.keys }

// Load reads the raw snapshot.
func (s *Store) Load(ctx context.Context) (*store.Snapshot, error) { return s.inner.Load(ctx) }

// Watch follows the raw snapshots.
func (s *Store) Watch(ctx context.Context, from *store.Snapshot, apply func(*store.Snapshot)) error {
	return s.inner.Watch(ctx, from, apply)
}

// Close closes the store.
func (s *Store) Close() error { return s.inner.Close() }

// Update applies fn authenticated (see Store). fn must be pure, as
// store.Writer requires: it may run again on a newer state.
func (s *Store) Update(ctx context.Context, fn Mutation) (int64, error) {
	return s.inner.Update(ctx, authenticated(s.keys, fn, s.retag))
}

// Retag re-tags, in one change, up to max records whose tag names a
// master key other than the active one (after a master key rotation), and
// returns how many it re-tagged; 0 when none is left (nothing is written
// then unless the manifest itself is under another key).
func (s *Store) Retag(ctx context.Context, max int) (int, error) {
	n := 0
	_, err := s.inner.Update(ctx, func(raw *store.Snapshot) (store.Changes, error) {
		res, err := verified(raw, s.keys)
		if err != nil {
			return store.Changes{}, err
		}
		n = 0
		stale := false
		for kid := range res.kids {
			stale = stale || kid != s.keys.ActiveKeyID()
		}
		if !stale {
			return store.Changes{}, nil
		}
		return seal(s.keys, res, store.Changes{}, sealOptions{retag: max, retagged: &n})
	})
	return n, err
}

// Authenticated wraps fn: the state is verified first (an error, nothing
// written, when it does not verify), fn sees its records without their
// tags, and its changes are tagged and the manifest rewritten. Changes
// that change nothing stay empty.
func Authenticated(keys Keys, fn Mutation) Mutation { return authenticated(keys, fn, 0) }

func authenticated(keys Keys, fn Mutation, retag int) Mutation {
	return func(raw *store.Snapshot) (store.Changes, error) {
		res, err := verified(raw, keys)
		if err != nil {
			return store.Changes{}, err
		}
		ch, err := fn(res.Snapshot)
		if err != nil || ch.Empty() {
			return ch, err
		}
		budget := max(0, retag-len(ch.Put)-len(ch.Delete))
		return seal(keys, res, ch, sealOptions{retag: budget})
	}
}

func verified(raw *store.Snapshot, keys Keys) (*Result, error) {
	res, err := Verify(raw, keys, Floor{})
	if err != nil {
		return nil, fmt.Errorf("the store does not verify, nothing was written: %w", err)
	}
	return res, nil
}
