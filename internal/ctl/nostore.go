package ctl

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/attestd/attestd/store"
	"github.com/attestd/attestd/store/filestore"
	"github.com/attestd/attestd/store/open"
)

// errNoStore: the command names a store that does not exist. Only init
// creates a store; every other command refuses, so that a mistyped
// --store or a command run in the wrong directory never leaves an empty
// store (and a new master key) behind, nor reads as an empty registry.
var errNoStore = errors.New("no store")

// noStore is the refusal for the store of this invocation, with the
// command that creates it.
func (r *runner) noStore(why string) error {
	return fmt.Errorf("%w at %s (%s): give --store URL (and --master-key FILE) of an existing store, or create this one with: %s",
		errNoStore, r.g.storeURL, why, r.ctlHint("init"))
}

// checkFileStore refuses a file store whose directory holds no state file
// or (without --master-key) no master key, before open.Open would create
// them. Other stores are checked on their first snapshot (existing).
func (r *runner) checkFileStore() error {
	loc, err := open.ParseURL(r.g.storeURL)
	if err != nil || loc.Scheme != "file" {
		return nil // open.Open says what is wrong with the URL
	}
	abs, err := filepath.Abs(loc.Dir)
	if err != nil {
		abs = loc.Dir
	}
	state := filepath.Join(loc.Dir, filestore.StateFileName)
	if _, err := os.Stat(state); errors.Is(err, fs.ErrNotExist) {
		return r.noStore(filepath.Join(abs, filestore.StateFileName) + " does not exist")
	}
	if r.g.masterKey != "" {
		return nil
	}
	key := filepath.Join(loc.Dir, filestore.MasterKeyFileName)
	if _, err := os.Stat(key); errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%w: the store at %s has no master key %s: give the file its secrets are sealed under with --master-key FILE",
			errNoStore, r.g.storeURL, filepath.Join(abs, filestore.MasterKeyFileName))
	}
	return nil
}

// existing is an opened store that must already exist: a snapshot without
// a single record is refused with errNoStore (an etcd prefix nobody
// initialised), by Load and before Update's mutation runs.
type existing struct {
	store.Store
	r *runner
}

func (e existing) Load(ctx context.Context) (*store.Snapshot, error) {
	snap, err := e.Store.Load(ctx)
	if err == nil && len(snap.Entries) == 0 {
		return nil, e.r.noStore("it holds no records")
	}
	return snap, err
}

func (e existing) Update(ctx context.Context, fn func(*store.Snapshot) (store.Changes, error)) (int64, error) {
	return e.Store.Update(ctx, func(snap *store.Snapshot) (store.Changes, error) {
		if len(snap.Entries) == 0 {
			return store.Changes{}, e.r.noStore("it holds no records")
		}
		return fn(snap)
	})
}
