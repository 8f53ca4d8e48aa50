package replay

import (
	"cmp"
	"slices"
	"sync"
)

// bucket holds the IDs that expire in one second, of every class.
type bucket map[ID]struct{}

// second counts the pairs of one expiry second by class, so that dropping
// its bucket gives each class's budget back without walking the bucket.
type second struct {
	sec int64
	n   [NumClasses]int64
}

// shard is one lock's worth of the set. Its fields are guarded by mu.
type shard struct {
	mu      sync.Mutex
	buckets map[int64]bucket // by expiry second
	order   []second         // the seconds of buckets, ascending
	claimed map[ID]struct{}  // ids being decided (Claim)
	// forgot is the latest expiry second whose bucket was dropped with
	// pairs in it: a pair expiring at or before it may have been
	// forgotten, so it is refused even if the clock steps back. (Seconds
	// swept with nothing in them forget nothing: a clock that jumps
	// ahead and comes back refuses only the nonces it really dropped.)
	forgot int64
	_      [64]byte // keep neighbouring shards' locks off this cache line
}

// expire drops the buckets of every second ≤ sec and returns how many
// pairs of each class they held.
func (sh *shard) expire(sec int64) (n [NumClasses]int64) {
	i := 0
	for ; i < len(sh.order) && sh.order[i].sec <= sec; i++ {
		for c := range n {
			n[c] += sh.order[i].n[c]
		}
		delete(sh.buckets, sh.order[i].sec)
	}
	if i > 0 {
		sh.forgot = max(sh.forgot, sh.order[i-1].sec)
		sh.order = slices.Delete(sh.order, 0, i)
	}
	return n
}

// add puts id in b, the bucket of second sec (nil: it has none yet, and
// add makes it), and counts it under class c. New seconds nearly always
// come last, so the search and the insert are at the end.
func (sh *shard) add(b bucket, id ID, sec int64, c Class) {
	i := sh.secondIndex(sec)
	if b == nil {
		b = make(bucket)
		sh.buckets[sec] = b
	}
	b[id] = struct{}{}
	sh.order[i].n[c]++
}

// secondIndex returns the index of second sec in order, inserting it if
// it is not there.
func (sh *shard) secondIndex(sec int64) int {
	n := len(sh.order)
	switch {
	case n > 0 && sh.order[n-1].sec == sec:
		return n - 1
	case n == 0 || sh.order[n-1].sec < sec:
		sh.order = append(sh.order, second{sec: sec})
		return n
	}
	i, found := slices.BinarySearchFunc(sh.order, sec, func(s second, sec int64) int { return cmp.Compare(s.sec, sec) })
	if !found {
		sh.order = slices.Insert(sh.order, i, second{sec: sec})
	}
	return i
}
