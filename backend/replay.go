package backend

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"sync"
	"time"

	"github.com/attestd/attestd/crypto/httpsig"
)

// ReplayCache remembers the request signatures a verifier accepted
// (docs/protocol.md §10: a signature is accepted once within its window).
// MemoryReplayCache is the one of a single process; a store shared by
// several processes (a key-value store's set-if-absent with an expiry)
// refuses replays across them.
type ReplayCache interface {
	// Add records id until until and reports whether it is new: false
	// when id is recorded and until has not passed. now is the caller's
	// clock. An error refuses the request (fail closed): ErrReplayFull
	// when the cache cannot take another entry, or the store's own.
	Add(ctx context.Context, id httpsig.ID, now, until time.Time) (fresh bool, err error)
}

// ErrReplayFull: the replay cache cannot record a signature: it is full of
// signatures still in their window, or (wrapped around its error) a
// shared store failed. The request is answered 503 overloaded rather than
// let through unrecorded.
var ErrReplayFull = errors.New("backend: replay cache full")

// DefaultReplayCapacity is a MemoryReplayCache's size when none is given:
// about 4,300 signed requests a second at the default ±60 s window, in at
// most about 50 MB.
const DefaultReplayCapacity = 1 << 19

// replayShards spreads the cache over independent locks.
const replayShards = 16

// MemoryReplayCache is a bounded ReplayCache in memory: at most its
// capacity of entries, each dropped once its until has passed. When every
// entry of a shard is still live it refuses new ones there
// (ErrReplayFull) rather than forget one early. An entry's shard is a
// keyed hash of its id (a key of its own per cache), so that signers who
// grind their signatures cannot aim them all at one shard and fill it with
// a sixteenth of the capacity. It is safe for concurrent use; once its
// maps and heaps have grown, Add does not allocate.
type MemoryReplayCache struct {
	perShard int
	seed     maphash.Seed
	shards   [replayShards]replayShard
}

type replayShard struct {
	mu    sync.Mutex
	until map[httpsig.ID]int64 // Unix ns
	heap  []replayEntry        // min-heap by until, for expiry
}

type replayEntry struct {
	until int64
	id    httpsig.ID
}

// NewMemoryReplayCache returns a cache of at most capacity entries
// (DefaultReplayCapacity when capacity ≤ 0), spread over 16 shards of
// capacity/16 each, rounded up.
func NewMemoryReplayCache(capacity int) *MemoryReplayCache {
	if capacity <= 0 {
		capacity = DefaultReplayCapacity
	}
	c := &MemoryReplayCache{perShard: (capacity + replayShards - 1) / replayShards, seed: maphash.MakeSeed()}
	for i := range c.shards {
		c.shards[i].until = make(map[httpsig.ID]int64)
	}
	return c
}

// Add implements ReplayCache.
func (c *MemoryReplayCache) Add(_ context.Context, id httpsig.ID, now, until time.Time) (bool, error) {
	s := &c.shards[c.shard(id)]
	n, u := now.UnixNano(), until.UnixNano()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.expire(n)
	if prev, ok := s.until[id]; ok && prev > n {
		return false, nil
	}
	if len(s.until) >= c.perShard {
		return false, fmt.Errorf("%w: its shard holds %d signatures in their window, its bound", ErrReplayFull, len(s.until))
	}
	s.until[id] = u
	s.push(replayEntry{until: u, id: id})
	return true, nil
}

// shard is id's shard.
func (c *MemoryReplayCache) shard(id httpsig.ID) uint64 {
	return maphash.Comparable(c.seed, id) % replayShards
}

// Len returns the number of entries held (expired ones included until an
// Add drops them).
func (c *MemoryReplayCache) Len() int {
	n := 0
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.Lock()
		n += len(s.until)
		s.mu.Unlock()
	}
	return n
}

// expire drops the entries whose until is at or before now. s.mu is held.
func (s *replayShard) expire(now int64) {
	for len(s.heap) > 0 && s.heap[0].until <= now {
		e := s.pop()
		if s.until[e.id] == e.until {
			delete(s.until, e.id)
		}
	}
}

func (s *replayShard) push(e replayEntry) {
	s.heap = append(s.heap, e)
	h := s.heap
	for i := len(h) - 1; i > 0; {
		p := (i - 1) / 2
		if h[p].until <= h[i].until {
			break
		}
		h[p], h[i] = h[i], h[p]
		i = p
	}
}

func (s *replayShard) pop() replayEntry {
	h := s.heap
	top := h[0]
	last := len(h) - 1
	h[0] = h[last]
	h = h[:last]
	for i := 0; ; {
		l, r, m := 2*i+1, 2*i+2, i
		if l < len(h) && h[l].until < h[m].until {
			m = l
		}
		if r < len(h) && h[r].until < h[m].until {
			m = r
		}
		if m == i {
			break
		}
		h[i], h[m] = h[m], h[i]
		i = m
	}
	s.heap = h
	return top
}
