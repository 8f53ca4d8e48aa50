package registry

import (
	"fmt"

	"github.com/attestd/attestd/internal/recordauth"
	"github.com/attestd/attestd/store"
)

// authenticate verifies raw against the floor (the newer of the
// configured one and the installed view's) and returns its records
// without their tags.
func (r *Registry) authenticate(raw *store.Snapshot, old *view) (*store.Snapshot, recordauth.Floor, error) {
	if r.cfg.Records == nil {
		return recordauth.Strip(raw), recordauth.Floor{}, nil
	}
	floor := r.cfg.Floor
	if old != nil && old.floor.Generation >= floor.Generation {
		floor = old.floor
	}
	res, err := recordauth.Verify(raw, r.cfg.Records, floor)
	if err != nil {
		return nil, recordauth.Floor{}, fmt.Errorf("registry: store revision %d refused: %w", raw.Revision, err)
	}
	return res.Snapshot, res.Floor, nil
}

// Check verifies raw as Swap would, without installing it: nil for the
// snapshot installed, and for one Swap would accept.
func (r *Registry) Check(raw *store.Snapshot) error {
	old := r.view.Load()
	if old != nil && old.raw == raw {
		return nil
	}
	_, _, err := r.authenticate(raw, old)
	return err
}

// Installed reports whether raw is the snapshot installed (pointer
// equality: snapshots are immutable).
func (r *Registry) Installed(raw *store.Snapshot) bool {
	v := r.view.Load()
	return v != nil && v.raw == raw
}

// Generation is the installed state's authenticated generation (0 before
// the first, or without record authentication).
func (r *Registry) Generation() uint64 {
	if v := r.view.Load(); v != nil {
		return v.floor.Generation
	}
	return 0
}

// Raw returns the installed snapshot as stored, tags and manifest
// included (nil before the first).
func (r *Registry) Raw() *store.Snapshot {
	if v := r.view.Load(); v != nil {
		return v.raw
	}
	return nil
}
