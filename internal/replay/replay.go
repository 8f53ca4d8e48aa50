// Package replay is the per-node single-use set of nonce IDs (PROTOCOL §1:
// "a nonce is single-use on each node").
//
// A Set remembers each (id, expiresAt) pair it is given until expiresAt and
// answers whether a pair is new. It is not a cache: it never drops a pair
// inside its window. Its memory is bounded twice: by time, since pairs are
// kept in buckets per second of expiry and a whole bucket is dropped once
// that second has come; and by Config.MaxEntries, past which Use fails closed
// with ErrFull instead of forgetting anything.
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

// Errors returned by Use and New; test with errors.Is. None of them means
// that the nonce was fresh.
var (
	// ErrFull: the set holds Config.MaxEntries live pairs; the caller
	// answers overloaded.
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
	// MaxEntries is the hard cap on live pairs (required, > 0). Size it
	// as the peak nonce rate times the nonce lifetime, with headroom;
	// a pair costs roughly 40-60 bytes.
	MaxEntries int
	// Window is how far ahead of now an expiresAt may lie: the nonce
	// lifetime plus the clock skew tolerated between nodes. Zero means
	// DefaultWindow.
	Window time.Duration
}

// Set is a single-use set of IDs. Build it with New.
type Set struct {
	shards [numShards]shard
	count  atomic.Int64
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
	}
	return s, nil
}

// Use records the pair (id, expiresAt) at time now. It returns true the
// first time a pair is used and false on every later use while the pair is
// live. An error means the pair was not recorded and must be refused.
func (s *Set) Use(id ID, expiresAt int64, now time.Time) (fresh bool, err error) {
	sec := now.Unix()
	if expiresAt <= sec {
		return false, ErrExpired
	}
	if expiresAt-sec > s.window {
		return false, ErrWindow
	}
	sh := &s.shards[shardOf(id)]
	for attempt := 0; ; attempt++ {
		fresh, full, err := s.tryInsert(sh, id, expiresAt, sec)
		if !full {
			return fresh, err
		}
		if attempt > 0 {
			return false, ErrFull
		}
		s.Sweep(now) // other shards may hold expired buckets
	}
}

func (s *Set) tryInsert(sh *shard, id ID, expiresAt, sec int64) (fresh, full bool, err error) {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if n := sh.expire(sec); n > 0 {
		s.count.Add(-n)
	}
	if expiresAt <= sh.forgot {
		return false, false, ErrExpired
	}
	b := sh.buckets[expiresAt]
	if _, dup := b[id]; dup {
		return false, false, nil
	}
	if s.count.Add(1) > s.max {
		s.count.Add(-1)
		return false, true, nil
	}
	if b == nil {
		b = sh.newBucket(expiresAt)
	}
	b[id] = struct{}{}
	return true, false, nil
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
		if n > 0 {
			s.count.Add(-n)
			total += n
		}
	}
	return int(total)
}

// Len is the number of live pairs held, including any not yet swept.
func (s *Set) Len() int { return int(s.count.Load()) }
