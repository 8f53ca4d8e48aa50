package androidstatus

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"sync"
	"time"

	"github.com/attestd/attestd/verify/androidkey"
)

// Clock is the time a Keeper lives by. After fires once, at least d after
// it is called.
type Clock interface {
	Now() time.Time
	After(d time.Duration) <-chan time.Time
}

// RealClock is the process's clock.
type RealClock struct{}

// Now implements Clock.
func (RealClock) Now() time.Time { return time.Now() }

// After implements Clock.
func (RealClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

// Config configures a Keeper. Zero durations take their defaults.
type Config struct {
	Source Source
	// Cache is the file keeping the last good list of a URL source ("":
	// none; a file source is its own cache).
	Cache string
	// Refresh is the time between fetches of a URL (DefaultRefresh);
	// MinRefresh the shortest a Cache-Control max-age makes it
	// (DefaultMinRefresh); Timeout bounds one fetch, body included
	// (DefaultTimeout); BackoffBase is the first retry delay after a
	// failure (DefaultBackoffBase), doubled on each failure in a row up
	// to Refresh.
	Refresh, MinRefresh, Timeout, BackoffBase time.Duration
	// Poll is the time between checks of a file source (DefaultPoll).
	Poll time.Duration
	// Install receives each good list and its fetch time (a file's
	// modification time). Required.
	Install func(l *androidkey.StatusList, at time.Time)
	// Clock (RealClock) and Jitter (math/rand/v2's Float64), for tests.
	Clock  Clock
	Jitter func() float64
	// RootCAs verifies an https:// server (nil: the system's roots).
	RootCAs *x509.CertPool
	// Attempted, when set, is called after each fetch or read with its
	// outcome (nil: a list installed, or the same list confirmed).
	Attempted func(error)
	Log       *slog.Logger
}

// Keeper fetches or reads the status list and installs each good one.
type Keeper struct {
	cfg    Config
	sched  schedule
	client *http.Client

	// first is Run's first delay and failures in a row (set by Start).
	first    time.Duration
	failures int

	mu      sync.Mutex // guards the fields below
	current *androidkey.StatusList
	raw     []byte    // the body or file content of current
	at      time.Time // current's fetch time
	stats   Stats
	stamp   fileStamp // the file state current was read from (file source)
}

// Stats are a Keeper's counts since it was made.
type Stats struct {
	// Failures counts failed fetches or reads by Reason* name.
	Failures map[string]uint64
	// Unrevoked counts serials a new list no longer lists as REVOKED.
	Unrevoked uint64
	// Entries is the number of entries of the list in force.
	Entries int
}

// Reasons of a failed fetch or read, the label of the failure counter.
const (
	ReasonTransport = "transport"   // no answer, a broken connection, a timeout, a redirect refused
	ReasonStatus    = "http_status" // an answer other than 200
	ReasonTooLarge  = "too_large"   // a body over the list's maximum size
	ReasonTruncated = "truncated"   // a body cut short of its announced length
	ReasonMalformed = "malformed"   // a body that does not parse as a status list
	ReasonUnrevokes = "unrevokes"   // a list that un-revokes most revoked certificates
	ReasonFile      = "file"        // a file that cannot be read
)

// Reasons lists every Reason*, for counters that exist before they count.
func Reasons() []string {
	return []string{ReasonTransport, ReasonStatus, ReasonTooLarge, ReasonTruncated, ReasonMalformed, ReasonUnrevokes, ReasonFile}
}

// failure is an error with its Reason.
type failure struct {
	reason string
	err    error
}

func (f *failure) Error() string { return f.reason + ": " + f.err.Error() }
func (f *failure) Unwrap() error { return f.err }

func fail(reason string, format string, args ...any) error {
	return &failure{reason: reason, err: fmt.Errorf(format, args...)}
}

// ReasonOf is the Reason* of an error a Keeper reported ("" for nil).
func ReasonOf(err error) string {
	var f *failure
	if errors.As(err, &f) {
		return f.reason
	}
	if err != nil {
		return ReasonTransport
	}
	return ""
}

// New returns a Keeper for cfg.
func New(cfg Config) (*Keeper, error) {
	if cfg.Install == nil || (cfg.Source.File == "" && cfg.Source.URL == nil) {
		return nil, errors.New("androidstatus: a source and an Install function are required")
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&cfg.Refresh, DefaultRefresh)
	def(&cfg.MinRefresh, DefaultMinRefresh)
	def(&cfg.Timeout, DefaultTimeout)
	def(&cfg.BackoffBase, DefaultBackoffBase)
	def(&cfg.Poll, DefaultPoll)
	if cfg.Clock == nil {
		cfg.Clock = RealClock{}
	}
	if cfg.Jitter == nil {
		cfg.Jitter = rand.Float64
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Attempted == nil {
		cfg.Attempted = func(error) {}
	}
	k := &Keeper{cfg: cfg, sched: schedule{refresh: cfg.Refresh, minRefresh: cfg.MinRefresh, backoffBase: cfg.BackoffBase},
		stats: Stats{Failures: map[string]uint64{}}}
	k.client = newClient(cfg)
	return k, nil
}

// Stats returns the Keeper's counts.
func (k *Keeper) Stats() Stats {
	k.mu.Lock()
	defer k.mu.Unlock()
	s := k.stats
	s.Failures = make(map[string]uint64, len(k.stats.Failures))
	for r, n := range k.stats.Failures {
		s.Failures[r] = n
	}
	return s
}

// Start loads the first list. A file source must read and parse (an
// error otherwise, as at any first load). A URL source starts from its
// cache when the cache holds a good list, and is otherwise fetched once
// here; a failed first fetch is logged and is no error (the node serves,
// and its fail mode decides what a missing list means).
func (k *Keeper) Start(ctx context.Context) error {
	if !k.cfg.Source.IsURL() {
		_, err := k.readFile()
		return err
	}
	if k.loadCache() {
		return nil // Run fetches at once
	}
	maxAge, err := k.fetch(ctx)
	if err != nil {
		k.cfg.Log.Error("android status list: first fetch failed; no list until a fetch succeeds", "url", k.cfg.Source.String(), "err", err)
		k.failures = 1
		k.first = k.sched.afterFailure(1, k.cfg.Jitter())
		return nil
	}
	k.first = k.sched.afterSuccess(maxAge, k.cfg.Jitter())
	return nil
}

// Run keeps the list fresh until ctx ends; it returns nil then.
func (k *Keeper) Run(ctx context.Context) error {
	if !k.cfg.Source.IsURL() {
		return k.pollFile(ctx)
	}
	delay, failures := k.first, k.failures
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-k.cfg.Clock.After(delay):
		}
		maxAge, err := k.fetch(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			failures++
			delay = k.sched.afterFailure(failures, k.cfg.Jitter())
			continue
		}
		failures = 0
		delay = k.sched.afterSuccess(maxAge, k.cfg.Jitter())
	}
}

// accept installs list (whose bytes are raw), fetched at at, unless it
// un-revokes more than half of the list in force's REVOKED certificates.
// Fewer un-revocations are logged and counted. It reports whether raw
// differs from the list in force.
func (k *Keeper) accept(list *androidkey.StatusList, raw []byte, at time.Time) (changed bool, err error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	unrevoked, prevRevoked := list.Unrevoked(k.current)
	if len(unrevoked) > 0 && 2*len(unrevoked) > prevRevoked {
		return false, fail(ReasonUnrevokes, "the new list un-revokes %d of the %d revoked certificates of the list in force; kept the list in force "+
			"(if Google did un-revoke them, restart the node without its cache file to accept it)", len(unrevoked), prevRevoked)
	}
	if len(unrevoked) > 0 {
		k.stats.Unrevoked += uint64(len(unrevoked))
		shown := unrevoked[:min(len(unrevoked), 20)]
		k.cfg.Log.Warn("android status list un-revokes certificates: they are accepted again", "count", len(unrevoked), "serials", shown)
	}
	changed = string(raw) != string(k.raw)
	k.current, k.raw, k.at = list, raw, at
	k.stats.Entries = list.Len()
	k.cfg.Install(list, at)
	if changed {
		k.cfg.Log.Info("android status list installed", "source", k.cfg.Source.String(), "entries", list.Len(), "fetched", at)
	}
	return changed, nil
}

// failed counts and logs a failed fetch or read.
func (k *Keeper) failed(err error) {
	k.mu.Lock()
	k.stats.Failures[ReasonOf(err)]++
	k.mu.Unlock()
	msg := "android status list not installed; keeping the list in force"
	if ReasonOf(err) == ReasonMalformed {
		msg = "android status list does not parse; keeping the list in force"
	}
	k.cfg.Log.Warn(msg, "source", k.cfg.Source.String(), "reason", ReasonOf(err), "err", err)
	k.cfg.Attempted(err)
}
