// Package store defines the central store every edge node reads and
// attestctl writes: a small versioned key-value space (file directory or
// etcd) holding the registry's records as JSON, secrets sealed at rest.
//
// Keys are slash-separated names such as "accounts/acme" or "apps/com.x".
// A Snapshot is an immutable view of every key at one revision; edges load
// one, then follow changes with Watch. Writers apply all-or-nothing changes
// with Update, which retries on a concurrent write.
//
// Implementations: store/filestore (embedded default), store/etcdstore.
// Any package may import this one; it imports only the standard library.
package store

import (
	"context"
	"errors"
	"sort"
	"strings"
	"time"
)

// Sentinel errors of store implementations.
var (
	// ErrConflict: the store changed between read and write (Update retries).
	ErrConflict = errors.New("store: concurrent change")
	// ErrUnavailable: the store cannot be reached now.
	ErrUnavailable = errors.New("store: unavailable")
	// ErrBadURL: the store URL is malformed or of an unknown scheme.
	ErrBadURL = errors.New("store: bad URL")
)

// MaxFileBytes bounds a whole store kept in one file: the file store's
// state file and a node's snapshot file (store/snapshotfile) hold the same
// records. A larger file is refused before it is read (a wrong path such
// as a device or a log, or a store grown past what a node should hold in
// memory), and a writer refuses to make one.
const MaxFileBytes = 1 << 30

// Entry is one key's value and the revision that last changed it.
type Entry struct {
	Value       []byte
	ModRevision int64
}

// Snapshot is every key of the store at Revision. It is immutable once
// published: readers share it without locks and must not modify it.
type Snapshot struct {
	Revision int64
	Entries  map[string]Entry
}

// Get returns the entry at key.
func (s *Snapshot) Get(key string) (Entry, bool) {
	if s == nil {
		return Entry{}, false
	}
	e, ok := s.Entries[key]
	return e, ok
}

// Keys returns the keys under prefix, sorted.
func (s *Snapshot) Keys(prefix string) []string {
	var ks []string
	for k := range s.Entries {
		if strings.HasPrefix(k, prefix) {
			ks = append(ks, k)
		}
	}
	sort.Strings(ks)
	return ks
}

// Changes is one atomic write: Put and Delete are applied together or not
// at all. A key in both is an error.
type Changes struct {
	Put    map[string][]byte
	Delete []string
}

// Empty reports whether the changes change nothing.
func (c Changes) Empty() bool { return len(c.Put) == 0 && len(c.Delete) == 0 }

// Source is what an edge node needs of the store.
type Source interface {
	// Load reads the whole store.
	Load(ctx context.Context) (*Snapshot, error)
	// Watch calls apply with every newer snapshot after from, in revision
	// order, until ctx ends or the store fails for good. It resumes by itself
	// after transient failures, which it reports to the OnError of the
	// store's own options (filestore.Options, etcdstore.Options), if set.
	Watch(ctx context.Context, from *Snapshot, apply func(*Snapshot)) error
}

// Writer is what attestctl needs of the store.
type Writer interface {
	// Update reads the current snapshot, asks fn for the changes, and applies
	// them atomically if nothing changed meanwhile; otherwise it retries
	// fn on the new snapshot (a bounded number of times). fn must be pure.
	Update(ctx context.Context, fn func(*Snapshot) (Changes, error)) (revision int64, err error)
}

// Store is a Source and a Writer that holds resources until Close.
type Store interface {
	Source
	Writer
	Close() error
}

// Health is implemented by stores that can say how fresh the data they
// serve is (etcd: the watch may be down while the node serves its last
// good snapshot). The daemon's /readyz and metrics use it.
type Health interface {
	Health() HealthStatus
}

// LastKnownGood is implemented by stores that keep a node's last-known-good
// snapshot on its disk (etcd with a snapshot file). The daemon reads it at
// start for the newest state it accepted before (record authentication
// refuses a store rolled back below it).
type LastKnownGood interface {
	// LastKnownGood reads the snapshot file: nil and no error when there
	// is none.
	LastKnownGood() (*Snapshot, error)
}

// Accept says whether the consumer of a store accepted a snapshot (nil)
// or refused it (why). A store that keeps a last-known-good copy writes
// only snapshots its Accept accepts. It may be called more than once with
// the same snapshot, and must be cheap for the snapshot accepted last.
type Accept func(*Snapshot) error

// HealthStatus describes a store's connection.
type HealthStatus struct {
	// LastContact is when the store last confirmed the node's data is
	// current (zero: never).
	LastContact time.Time
	// Degraded says why the data may be stale ("" when connected).
	Degraded string
}
