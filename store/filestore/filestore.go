// Package filestore is the embedded store (URL file:///path/to/dir): the
// whole store is one JSON state file in a directory, replaced atomically
// (temporary file, fsync, rename, fsync of the directory), so a crash in the
// middle of a write leaves the old state or the new, never a mix. Writers
// serialise on an exclusive flock(2) of a lock file in the directory, so
// several processes (attestctl, daemons seeding on first start) may write
// at once without losing an update. Readers need no lock.
//
// The directory also holds the master key file (master.key, mode 0600,
// created on the first use of a new store, one without records, unless
// another key file is given; never for a store whose records need the key
// that is missing); this package reads and creates it, crypto/envelope
// gives it meaning.
//
// A *Store is safe for concurrent use.
package filestore

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/attestd/attestd/crypto/secret"
	"github.com/attestd/attestd/store"
)

// File names inside the store directory.
const (
	StateFileName     = "state.json"
	LockFileName      = "state.lock"
	MasterKeyFileName = "master.key"
	// tempPattern names temporary state files; leftovers of a crash are
	// ignored by readers and removed by the next writer.
	tempPrefix = StateFileName + ".tmp-"
)

// MaxStateFileBytes bounds the state file (store.MaxFileBytes, the bound
// of a node's snapshot file too): a larger one is refused before it is
// read, and an update that would make one is refused.
const MaxStateFileBytes = store.MaxFileBytes

// DefaultPollInterval is how often Watch looks at the state file.
const DefaultPollInterval = 200 * time.Millisecond

// Sentinel errors of this package.
var (
	// ErrMasterKeyMode: the master key file may be read or written by group
	// or others.
	ErrMasterKeyMode = errors.New("master key file is accessible to group or others (chmod 600 it)")
	// ErrNoMasterKey: there is no master key file and none may be created.
	ErrNoMasterKey = errors.New("filestore: master key file missing")
	// ErrCorrupt: the state file does not decode.
	ErrCorrupt = errors.New("filestore: state file is corrupt")
	// ErrTooLarge: the state file, as read or as a change would write
	// it, is larger than MaxStateFileBytes.
	ErrTooLarge = errors.New("filestore: state file too large")
	// ErrBadChanges: Update's fn returned changes that cannot be applied
	// (a key both put and deleted, an empty key, a value that is not JSON).
	ErrBadChanges = errors.New("filestore: bad changes")
	// ErrClosed: the store was closed.
	ErrClosed = errors.New("filestore: closed")
)

// Options configure Open. The zero value polls every DefaultPollInterval
// and uses <dir>/master.key, which it cannot create (NewMasterKey is nil).
type Options struct {
	// MasterKeyFile, when set, is the master key file to use instead of
	// <dir>/master.key; it must exist and be mode 0600 (or stricter).
	MasterKeyFile string
	// NewMasterKey returns the contents of a new master key file, for the
	// first use of a directory without one whose store holds no record.
	// Nil: a missing key is an error. It is never called for a store with
	// records: their key is missing, not new (*MissingKeyError).
	NewMasterKey func() ([]byte, error)
	// PollInterval is how often Watch stats the state file.
	PollInterval time.Duration
	// OnError, when set, hears about transient Watch failures.
	OnError func(error)
	// Now is the clock of Health (nil: time.Now).
	Now func() time.Time
}

// Store is a file store. Create it with Open.
type Store struct {
	dir       string
	opts      Options
	masterKey secret.Value
	closed    atomic.Bool
	health    health
	// maxState bounds the state file: MaxStateFileBytes (tests lower it).
	maxState int64
	// beforeRename, when set (tests), runs between writing the temporary
	// file and renaming it over the state file.
	beforeRename func() error
}

var _ store.Store = (*Store)(nil)

// Open opens the store in dir, creating the directory (mode 0700) and, when
// allowed and the store holds no record, the master key file (mode 0600)
// if missing.
func Open(ctx context.Context, dir string, opts Options) (*Store, error) {
	if dir == "" {
		return nil, fmt.Errorf("%w: empty directory", store.ErrBadURL)
	}
	if opts.PollInterval <= 0 {
		opts.PollInterval = DefaultPollInterval
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("filestore: create %s: %w", dir, err)
	}
	s := &Store{dir: dir, opts: opts, health: health{now: opts.Now}, maxState: MaxStateFileBytes}
	mk, err := s.loadMasterKey(ctx)
	if err != nil {
		return nil, err
	}
	s.masterKey = mk
	return s, nil
}

// Dir is the store directory.
func (s *Store) Dir() string { return s.dir }

// MasterKey is the contents of the master key file (for
// crypto/envelope.ParseKeyFile).
func (s *Store) MasterKey() secret.Value { return s.masterKey }

// Close marks the store closed; later calls fail with ErrClosed. Running
// Watch calls end with their contexts.
func (s *Store) Close() error {
	s.closed.Store(true)
	return nil
}

func (s *Store) path(name string) string { return filepath.Join(s.dir, name) }

// Load reads the whole store. A directory without a state file is an empty
// store at revision 0.
func (s *Store) Load(ctx context.Context) (*store.Snapshot, error) {
	if s.closed.Load() {
		return nil, ErrClosed
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	snap, err := s.read()
	if err == nil {
		s.health.contact()
	}
	return snap, err
}
