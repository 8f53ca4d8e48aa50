package filestore

import (
	"context"
	"fmt"

	"github.com/attestd/attestd/store"
)

// Update takes the write lock, reads the current state, asks fn for the
// changes and writes the new state atomically, then releases the lock.
// With the lock held nothing can change between read and write, so fn runs
// once and store.ErrConflict never happens. Changes that change nothing
// leave the state (and its revision) as it is; the revision returned is
// then the current one. An error from fn is returned as it is, and nothing
// is written.
func (s *Store) Update(ctx context.Context, fn func(*store.Snapshot) (store.Changes, error)) (int64, error) {
	if s.closed.Load() {
		return 0, ErrClosed
	}
	unlock, err := s.lock(ctx)
	if err != nil {
		return 0, err
	}
	defer unlock()
	s.removeTemps()
	cur, err := s.read()
	if err != nil {
		return 0, err
	}
	ch, err := fn(cur)
	if err != nil {
		return 0, err
	}
	if ch.Empty() {
		return cur.Revision, nil
	}
	n, err := next(cur, ch)
	if err != nil {
		return 0, err
	}
	data, err := encodeState(n)
	if err != nil {
		return 0, err
	}
	if int64(len(data)) > s.maxState {
		return 0, fmt.Errorf("%w: the change would make it %d bytes, at most %d", ErrTooLarge, len(data), s.maxState)
	}
	if err := ctx.Err(); err != nil {
		return 0, fmt.Errorf("filestore: update: %w", err)
	}
	if err := s.writeAtomic(StateFileName, data); err != nil {
		return 0, err
	}
	return n.Revision, nil
}
