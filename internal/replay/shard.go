package replay

import (
	"slices"
	"sync"
)

// bucket holds the IDs that expire in one second.
type bucket map[ID]struct{}

// shard is one lock's worth of the set. Its fields are guarded by mu.
type shard struct {
	mu      sync.Mutex
	buckets map[int64]bucket // by expiry second
	order   []int64          // keys of buckets, ascending
	// forgot is the latest expiry second whose bucket was dropped with
	// pairs in it: a pair expiring at or before it may have been
	// forgotten, so it is refused even if the clock steps back. (Seconds
	// swept with nothing in them forget nothing: a clock that jumps
	// ahead and comes back refuses only the nonces it really dropped.)
	forgot int64
	_      [64]byte // keep neighbouring shards' locks off this cache line
}

// expire drops the buckets of every second ≤ sec and returns how many
// pairs they held.
func (sh *shard) expire(sec int64) int64 {
	n, i := int64(0), 0
	for ; i < len(sh.order) && sh.order[i] <= sec; i++ {
		n += int64(len(sh.buckets[sh.order[i]]))
		delete(sh.buckets, sh.order[i])
	}
	if i > 0 {
		sh.forgot = max(sh.forgot, sh.order[i-1])
		sh.order = slices.Delete(sh.order, 0, i)
	}
	return n
}

// newBucket adds the empty bucket of second sec, keeping order sorted. New
// seconds nearly always come last, so the insert is at the end.
func (sh *shard) newBucket(sec int64) bucket {
	b := make(bucket)
	sh.buckets[sec] = b
	i, _ := slices.BinarySearch(sh.order, sec)
	sh.order = slices.Insert(sh.order, i, sec)
	return b
}
