// Package etcdstore is the central store of many edge nodes (URL
// etcd://host:port[,host:port…]/prefix): every record is one etcd key under
// "<prefix>/", holding the same JSON value the file store holds (secrets
// sealed by the caller; this package deals in bytes).
//
// Writes: Update reads every key at one revision R, asks fn for the
// changes, and commits them in ONE etcd transaction guarded by "no key
// under the prefix was modified after R"; every Update also rewrites the
// meta key "<prefix>/_rev", so deletes are caught too. On a conflict it
// reads again and retries. A bundle import is therefore all or nothing.
//
// Reads: Load is one (paged) range read at one revision. Watch follows
// from the next revision with WithRequireLeader, applying events as an
// idempotent reconcile keyed by revision: an event at or below the
// revision already applied changes nothing, and a snapshot is published
// only when the revision grows and the content changed. On a compacted
// revision, a lost or silent watch, it reads again and watches again, with
// exponential backoff and jitter. Progress requests keep Health's
// LastContact fresh while nothing changes.
//
// Last-known-good: with Options.SnapshotFile, every snapshot published is
// also written to the node's disk (coalesced, atomically; see package
// store/snapshotfile); Load falls back to that file when etcd cannot be
// reached, and Health then says the node is degraded.
//
// There is no per-key read path: an edge holds the whole snapshot in
// memory (internal/registry), so a cache miss is compiled from memory,
// single-flighted per key, and never waits on etcd; "unknown app" floods
// never reach etcd, and a node keeps answering while etcd is away.
//
// A *Store is safe for concurrent use. Only store/open (and tests) import
// this package.
package etcdstore

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
	"google.golang.org/grpc"
	grpcbackoff "google.golang.org/grpc/backoff"

	"github.com/attestd/attestd/store"
)

// Defaults of Options.
const (
	DefaultDialTimeout      = 3 * time.Second
	DefaultRequestTimeout   = 3 * time.Second
	DefaultProgressInterval = time.Second
	DefaultStaleAfter       = 5 * time.Second
	DefaultMinBackoff       = 100 * time.Millisecond
	DefaultMaxBackoff       = 5 * time.Second
	DefaultPageSize         = 1000
	DefaultMaxUpdateTries   = 10
	// DefaultMaxRequestBytes is etcd's default --max-request-bytes (1.5
	// MiB): the largest transaction, and so the largest value, it accepts.
	DefaultMaxRequestBytes = 3 << 19
	// DefaultMaxTxnOps is etcd's default --max-txn-ops.
	DefaultMaxTxnOps = 128
)

// MetaKey is the key, under the prefix, that every Update rewrites. Keys
// starting with "_" are reserved: they never show in snapshots and cannot
// be written through Update.
const MetaKey = "_rev"

// Sentinel errors of this package.
var (
	// ErrClosed: the store was closed.
	ErrClosed = errors.New("etcdstore: closed")
	// ErrBadOptions: Options are incomplete or inconsistent.
	ErrBadOptions = errors.New("etcdstore: bad options")
	// ErrBadChanges: Update's fn returned changes that cannot be applied
	// (a key both put and deleted, an empty or reserved key, a value that
	// is not JSON).
	ErrBadChanges = errors.New("etcdstore: bad changes")
	// ErrTooLarge: the change does not fit in one etcd transaction (a value
	// or the whole change over --max-request-bytes, 1.5 MiB by default, or
	// more records than --max-txn-ops). It is refused whole, never split.
	ErrTooLarge = errors.New("etcdstore: change too large for one etcd transaction")
	// ErrNoSnapshot: etcd could not be reached and there is no usable
	// last-known-good snapshot to serve instead.
	ErrNoSnapshot = errors.New("etcdstore: etcd unreachable and no last-known-good snapshot")
)

// Options configure Open.
type Options struct {
	// Endpoints are the members' client addresses, host:port.
	Endpoints []string
	// Prefix is the key prefix without its trailing slash; every key lives
	// under Prefix + "/".
	Prefix string
	// TLS, when set, is used to reach etcd (client certificates included);
	// see TLSFiles.
	TLS *tls.Config
	// Username and Password authenticate with etcd's password auth.
	Username, Password string
	// DialTimeout bounds connecting (and authenticating).
	DialTimeout time.Duration
	// RequestTimeout bounds every etcd call (each page of a read, each
	// transaction, each progress request).
	RequestTimeout time.Duration
	// SnapshotFile, when set, is the last-known-good snapshot file.
	SnapshotFile string
	// Accept, when set, decides which snapshots are good enough to keep:
	// only a snapshot it accepts is written to the snapshot file, and Load
	// serves the snapshot file only when it accepts it (the daemon passes
	// its record authentication). Nil accepts every snapshot.
	Accept store.Accept
	// SnapshotInterval is the least time between two snapshot writes.
	SnapshotInterval time.Duration
	// ProgressInterval is how often a watch asks etcd to confirm it is
	// current while nothing changes.
	ProgressInterval time.Duration
	// StaleAfter: with no word from etcd for this long, Health reports
	// degraded and Watch starts over (re-read, re-watch).
	StaleAfter time.Duration
	// MinBackoff and MaxBackoff bound the jittered exponential backoff
	// between attempts to reach etcd again.
	MinBackoff, MaxBackoff time.Duration
	// PageSize is the number of keys per range request of a read.
	PageSize int64
	// MaxRequestBytes and MaxTxnOps mirror the cluster's
	// --max-request-bytes and --max-txn-ops; bigger changes are refused
	// with ErrTooLarge before they are sent.
	MaxRequestBytes int
	MaxTxnOps       int
	// MaxUpdateTries bounds Update's attempts on conflicts.
	MaxUpdateTries int
	// Now is the clock (default time.Now).
	Now func() time.Time
	// OnError, when set, hears about transient failures Watch recovers
	// from, and failed snapshot writes.
	OnError func(error)
}

func (o *Options) setDefaults() {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&o.DialTimeout, DefaultDialTimeout)
	def(&o.RequestTimeout, DefaultRequestTimeout)
	def(&o.ProgressInterval, DefaultProgressInterval)
	def(&o.StaleAfter, DefaultStaleAfter)
	def(&o.MinBackoff, DefaultMinBackoff)
	def(&o.MaxBackoff, DefaultMaxBackoff)
	if o.PageSize <= 0 {
		o.PageSize = DefaultPageSize
	}
	if o.MaxRequestBytes <= 0 {
		o.MaxRequestBytes = DefaultMaxRequestBytes
	}
	if o.MaxTxnOps <= 0 {
		o.MaxTxnOps = DefaultMaxTxnOps
	}
	if o.MaxUpdateTries <= 0 {
		o.MaxUpdateTries = DefaultMaxUpdateTries
	}
	if o.Now == nil {
		o.Now = time.Now
	}
}

// Store is an etcd store. Create it with Open.
type Store struct {
	opts   Options
	prefix string // Prefix + "/"
	health *health
	closed atomic.Bool
	// loadedRev is the revision of the last snapshot Load read from etcd
	// (Watch need not read it again).
	loadedRev atomic.Int64

	mu  sync.Mutex
	cli *clientv3.Client // nil until connected
}

var (
	_ store.Store         = (*Store)(nil)
	_ store.Health        = (*Store)(nil)
	_ store.LastKnownGood = (*Store)(nil)
)

// Open checks the options and returns the store. It does not wait for etcd:
// a node must be able to start from its snapshot while etcd is away, so
// connecting (and authenticating) happens on first use, and again after a
// failure.
func Open(opts Options) (*Store, error) {
	if len(opts.Endpoints) == 0 {
		return nil, fmt.Errorf("%w: no endpoints", ErrBadOptions)
	}
	p := strings.Trim(opts.Prefix, "/")
	if p == "" {
		return nil, fmt.Errorf("%w: empty prefix", ErrBadOptions)
	}
	if (opts.Username == "") != (opts.Password == "") {
		return nil, fmt.Errorf("%w: username and password go together", ErrBadOptions)
	}
	opts.Prefix = p
	opts.setDefaults()
	return &Store{opts: opts, prefix: p + "/", health: newHealth(opts.Now, opts.StaleAfter)}, nil
}

// Prefix is the key prefix, with its trailing slash.
func (s *Store) Prefix() string { return s.prefix }

// Source names this store in snapshot files: a snapshot of another prefix
// is never served.
func (s *Store) Source() string { return "etcd prefix " + s.opts.Prefix }

// Health reports how fresh the data is (see store.Health).
func (s *Store) Health() store.HealthStatus { return s.health.status() }

// Close releases the connection; later calls fail with ErrClosed and a
// running Watch returns.
func (s *Store) Close() error {
	s.closed.Store(true)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cli == nil {
		return nil
	}
	err := s.cli.Close()
	s.cli = nil
	if err != nil && !errors.Is(err, context.Canceled) {
		return fmt.Errorf("etcdstore: close: %w", err)
	}
	return nil
}

// client returns the etcd client, connecting first if needed.
func (s *Store) client() (*clientv3.Client, error) {
	if s.closed.Load() {
		return nil, ErrClosed
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed.Load() {
		return nil, ErrClosed
	}
	if s.cli != nil {
		return s.cli, nil
	}
	cli, err := clientv3.New(clientv3.Config{
		Endpoints:            s.opts.Endpoints,
		DialTimeout:          s.opts.DialTimeout,
		DialKeepAliveTime:    10 * time.Second,
		DialKeepAliveTimeout: 5 * time.Second,
		PermitWithoutStream:  true,
		TLS:                  s.opts.TLS,
		Username:             s.opts.Username,
		Password:             s.opts.Password,
		Logger:               zap.NewNop(),
		DialOptions: []grpc.DialOption{grpc.WithConnectParams(grpc.ConnectParams{
			// gRPC's default reconnect backoff grows to 2 minutes; a node
			// must find etcd again soon after it is back.
			Backoff:           grpcbackoff.Config{BaseDelay: s.opts.MinBackoff, Multiplier: 1.6, Jitter: 0.2, MaxDelay: s.opts.MaxBackoff},
			MinConnectTimeout: s.opts.DialTimeout,
		})},
	})
	if err != nil {
		return nil, wrap(fmt.Sprintf("connect to %v", s.opts.Endpoints), err)
	}
	s.cli = cli
	return cli, nil
}

// report passes a transient failure to Options.OnError.
func (s *Store) report(err error) {
	if s.opts.OnError != nil && err != nil {
		s.opts.OnError(err)
	}
}

// accept applies Options.Accept.
func (s *Store) accept(snap *store.Snapshot) error {
	if s.opts.Accept == nil {
		return nil
	}
	return s.opts.Accept(snap)
}

// key is the etcd key of a store key.
func (s *Store) key(k string) string { return s.prefix + k }

// storeKey is the store key of an etcd key, and whether it is a record
// (not outside the prefix, not reserved).
func (s *Store) storeKey(etcdKey []byte) (string, bool) {
	k, ok := strings.CutPrefix(string(etcdKey), s.prefix)
	if !ok || k == "" || strings.HasPrefix(k, "_") {
		return "", false
	}
	return k, true
}
