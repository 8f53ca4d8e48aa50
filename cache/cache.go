// Package cache holds typed read-through caches over ristretto for compiled
// registry records (apps, accounts), including negative entries for ids the
// store does not have.
//
// A cache is never the only copy of anything: every entry can be rebuilt
// from the store snapshot it came from, and ristretto may drop any Set. An
// entry records the store version it was built from and the generation of
// the snapshot it was last confirmed against, so a lookup is correct without
// any invalidation: an entry of an older generation is re-checked against
// the current snapshot (a map lookup) before it is trusted.
//
// Only packages of this module import it.
package cache

import (
	"fmt"
	"sync/atomic"

	"github.com/dgraph-io/ristretto/v2"
	"golang.org/x/sync/singleflight"
)

// Version says what the store holds for a key in the current snapshot.
type Version struct {
	// Gen identifies the snapshot; it grows with every snapshot swap.
	Gen uint64
	// Present is false when the store has no such key.
	Present bool
	// ModRevision is the store revision that last changed the key.
	ModRevision int64
}

type entry[V any] struct {
	gen     uint64
	present bool
	modRev  int64
	val     V
}

// Stats are a cache's counters since it was made.
type Stats struct {
	Hits, Misses, Builds uint64
}

// ReadThrough is a typed read-through cache. It is safe for concurrent use.
type ReadThrough[V any] struct {
	c      *ristretto.Cache[string, *entry[V]]
	sf     singleflight.Group
	hits   atomic.Uint64
	misses atomic.Uint64
	builds atomic.Uint64
}

// New returns a cache holding about maxEntries entries.
func New[V any](maxEntries int64) (*ReadThrough[V], error) {
	if maxEntries < 16 {
		maxEntries = 16
	}
	c, err := ristretto.NewCache(&ristretto.Config[string, *entry[V]]{
		NumCounters: maxEntries * 10,
		MaxCost:     maxEntries,
		BufferItems: 64,
	})
	if err != nil {
		return nil, fmt.Errorf("cache: %w", err)
	}
	return &ReadThrough[V]{c: c}, nil
}

// Peek is Get's fast path: the entry for id when it was confirmed against
// snapshot generation gen (ok=false otherwise: call Get). It allocates
// nothing, so callers try it before building Get's closures.
func (r *ReadThrough[V]) Peek(id string, gen uint64) (val V, present, ok bool) {
	if e, found := r.c.Get(id); found && e.gen == gen {
		r.hits.Add(1)
		return e.val, e.present, true
	}
	return val, false, false
}

// Get returns the value for id, or present=false when the store has none.
//
// gen is the current snapshot's generation; version is called (only when
// the cached entry is not of that generation) to learn what the snapshot
// holds for id; build compiles the value from the snapshot (only on a miss
// or when the store changed the key). Concurrent misses for one id and
// version share one build.
func (r *ReadThrough[V]) Get(id string, gen uint64, version func() Version, build func() (V, error)) (val V, present bool, err error) {
	e, ok := r.c.Get(id)
	if ok && e.gen == gen {
		r.hits.Add(1)
		return e.val, e.present, nil
	}
	v := version()
	if ok && e.present == v.Present && e.modRev == v.ModRevision {
		r.hits.Add(1)
		r.c.Set(id, &entry[V]{gen: v.Gen, present: e.present, modRev: e.modRev, val: e.val}, 1)
		return e.val, e.present, nil
	}
	r.misses.Add(1)
	if !v.Present {
		r.c.Set(id, &entry[V]{gen: v.Gen}, 1)
		return val, false, nil
	}
	flight := fmt.Sprintf("%d/%s", v.ModRevision, id)
	res, err, _ := r.sf.Do(flight, func() (any, error) {
		// A caller that missed just before the previous flight for this
		// version ended finds its result here instead of building again.
		if e, ok := r.c.Get(id); ok && e.present && e.modRev == v.ModRevision {
			return e.val, nil
		}
		r.builds.Add(1)
		b, err := build()
		if err != nil {
			return nil, err
		}
		r.c.Set(id, &entry[V]{gen: v.Gen, present: true, modRev: v.ModRevision, val: b}, 1)
		r.c.Wait() // visible before the flight ends: builds are rare, herds are not
		return b, nil
	})
	if err != nil {
		return val, false, err
	}
	return res.(V), true, nil
}

// Forget drops id's entry (memory hygiene after a delete; lookups are
// correct without it).
func (r *ReadThrough[V]) Forget(id string) { r.c.Del(id) }

// Wait blocks until buffered writes are applied (for tests).
func (r *ReadThrough[V]) Wait() { r.c.Wait() }

// Stats returns the counters.
func (r *ReadThrough[V]) Stats() Stats {
	return Stats{Hits: r.hits.Load(), Misses: r.misses.Load(), Builds: r.builds.Load()}
}

// Close stops the cache's goroutines.
func (r *ReadThrough[V]) Close() { r.c.Close() }
