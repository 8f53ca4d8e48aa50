// Package replay is the per-node single-use set of nonce IDs (PROTOCOL §1:
// "a nonce is single-use on each node").
//
// A Set remembers each (id, expiresAt) pair it is given until expiresAt and
// answers whether a pair is new. It is not a cache: it never drops a pair
// inside its window. Its memory is bounded twice: by time, since pairs are
// kept in buckets per second of expiry and a whole bucket is dropped once
// that second has come; and by a budget per Class (Config.MaxEntries
// each), past which Use refuses a pair of that class with ErrFull instead
// of forgetting anything.
//
// Classes keep cheap requests from denying costly ones: a pair is used
// under the class of the answer it buys (Real: a token signed with an
// account's real key; Decoy: a decoy token; Monitor: a real-key token that
// proves no genuine app, as monitor mode and debug tokens make), and each
// class fills only its own budget. Someone who can only make decoys
// (self-made device keys, unknown app ids) fills the Decoy budget and is
// then refused, while genuine devices go on using the Real one. All classes share one set of
// pairs: a pair used under any class is used for all, and two uses of one
// pair racing under different classes are decided under one lock, so at
// most one is fresh.
//
// A request may Claim a nonce while it decides its verdict (Release ends
// the claim): requests racing one nonce then find it taken before they do
// the work of a verdict, as they would once it is used.
//
// IDs are expected to bind their expiry (crypto/nonce's Parsed.ID is a MAC
// over it), so a pair is looked up only in its own expiry bucket.
//
// Who may import: the attest core. A *Set is safe for concurrent use; its
// 64 shards each have their own lock.
package replay

import (
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/cespare/xxhash/v2"
)

// IDSize is the size of an ID; it matches crypto/nonce.IDSize.
const IDSize = 16

// ID identifies one nonce.
type ID = [IDSize]byte

// DefaultWindow is Config.Window when it is zero.
const DefaultWindow = 10 * time.Minute

const numShards = 64

// Class is the budget a pair is counted against (see the package doc).
type Class uint8

// The classes of pairs.
const (
	// Real: the nonce buys a token signed with an account's real key (a
	// passed verdict), which only a genuine device obtains.
	Real Class = iota
	// Decoy: the nonce buys a decoy token (a failed verdict, an unknown
	// app), which anyone with a self-made device key obtains.
	Decoy
	// Monitor: the nonce buys a token signed with an account's real key
	// that proves no genuine app (PROTOCOL.md §11): a failed verdict of an
	// app in monitor mode, which anyone who knows the app's id obtains, or
	// a verdict made with a debug token. Apart from Real, so that neither
	// can fill the budget of genuine passes; apart from Decoy, so that
	// decoys cannot deny them.
	Monitor
	// NumClasses is the number of classes; each has its own budget.
	NumClasses = 3
)

// BytesPerEntry is the measured heap cost of one live pair, rounded up
// (TestBytesPerEntry): the memory bound of a Set is about NumClasses ×
// MaxEntries × BytesPerEntry.
const BytesPerEntry = 64

// Errors returned by Use and New; test with errors.Is. None of them means
// that the nonce was fresh.
var (
	// ErrFull: the set holds Config.MaxEntries live pairs of the class
	// asked for; the caller answers overloaded. Other classes go on.
	ErrFull = errors.New("replay: set is full")
	// ErrExpired: expiresAt is not after now, or not after the latest
	// second whose pairs this set has dropped (the clock stepped back), so
	// the pair might have been forgotten. The caller answers nonce_expired.
	ErrExpired = errors.New("replay: already expired")
	// ErrWindow: expiresAt lies further ahead of now than Config.Window.
	ErrWindow = errors.New("replay: expiry beyond the window")
	// ErrConfig: New got an invalid Config.
	ErrConfig = errors.New("replay: invalid configuration")
)

// Config sizes a Set.
type Config struct {
	// MaxEntries is the hard cap on live pairs of each class (required,
	// > 0): up to MaxEntries Real pairs and, apart from them, up to
	// MaxEntries Decoy pairs and MaxEntries Monitor pairs, so NumClasses ×
	// MaxEntries × BytesPerEntry bytes at most. Size it as the peak rate of genuine attests times
	// the nonce lifetime, with headroom.
	MaxEntries int
	// Window is how far ahead of now an expiresAt may lie: the nonce
	// lifetime plus the clock skew tolerated between nodes. Zero means
	// DefaultWindow.
	Window time.Duration
}

// Set is a single-use set of IDs. Build it with New.
type Set struct {
	shards [numShards]shard
	count  [NumClasses]atomic.Int64
	max    int64
	window int64 // seconds
}

// New returns an empty Set.
func New(cfg Config) (*Set, error) {
	if cfg.MaxEntries <= 0 {
		return nil, fmt.Errorf("MaxEntries %d: want > 0: %w", cfg.MaxEntries, ErrConfig)
	}
	if cfg.Window == 0 {
		cfg.Window = DefaultWindow
	}
	if cfg.Window < time.Second {
		return nil, fmt.Errorf("Window %v: want ≥ 1s: %w", cfg.Window, ErrConfig)
	}
	s := &Set{max: int64(cfg.MaxEntries), window: int64(cfg.Window / time.Second)}
	for i := range s.shards {
		s.shards[i].buckets = make(map[int64]bucket)
		s.shards[i].claimed = make(map[ID]struct{})
	}
	return s, nil
}

// Use records the pair (id, expiresAt) at time now under class c. It
// returns true the first time a pair is used (under any class) and false on
// every later use while the pair is live. An error means the pair was not
// recorded and must be refused: ErrFull when c's budget is spent (a replay
// is still reported as such, fresh false and no error, whatever the
// budgets), ErrExpired, ErrWindow, or ErrConfig for an unknown class.
func (s *Set) Use(id ID, expiresAt int64, now time.Time, c Class) (fresh bool, err error) {
	if c >= NumClasses {
		return false, ErrConfig
	}
	sec := now.Unix()
	if expiresAt <= sec {
		return false, ErrExpired
	}
	if expiresAt-sec > s.window {
		return false, ErrWindow
	}
	sh := &s.shards[shardOf(id)]
	for attempt := 0; ; attempt++ {
		fresh, full, err := s.tryInsert(sh, id, expiresAt, sec, c)
		if !full {
			return fresh, err
		}
		if attempt > 0 {
			return false, ErrFull
		}
		s.Sweep(now) // other shards may hold expired buckets
	}
}

func (s *Set) tryInsert(sh *shard, id ID, expiresAt, sec int64, c Class) (fresh, full bool, err error) {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	s.release(sh.expire(sec))
	if expiresAt <= sh.forgot {
		return false, false, ErrExpired
	}
	b := sh.buckets[expiresAt]
	if _, dup := b[id]; dup {
		return false, false, nil
	}
	if s.count[c].Add(1) > s.max {
		s.count[c].Add(-1)
		return false, true, nil
	}
	sh.add(b, id, expiresAt, c)
	return true, false, nil
}

// release gives dropped pairs back to their budgets and returns how many
// there were.
func (s *Set) release(n [NumClasses]int64) int64 {
	total := int64(0)
	for c, k := range n {
		if k > 0 {
			s.count[c].Add(-k)
			total += k
		}
	}
	return total
}

func shardOf(id ID) uint64 { return xxhash.Sum64(id[:]) & (numShards - 1) }

// Sweep drops every bucket whose second has come, in every shard, and
// returns how many pairs it dropped. Use sweeps its own shard as it goes;
// call Sweep now and then (say every second) so that idle shards give their
// memory back too.
func (s *Set) Sweep(now time.Time) int {
	sec, total := now.Unix(), int64(0)
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.Lock()
		n := sh.expire(sec)
		sh.mu.Unlock()
		total += s.release(n)
	}
	return int(total)
}

// Len is the number of live pairs held, of every class, including any not
// yet swept.
func (s *Set) Len() int {
	n := int64(0)
	for c := range s.count {
		n += s.count[c].Load()
	}
	return int(n)
}

// LenOf is the number of live pairs of class c (0 for an unknown class).
func (s *Set) LenOf(c Class) int {
	if c >= NumClasses {
		return 0
	}
	return int(s.count[c].Load())
}
