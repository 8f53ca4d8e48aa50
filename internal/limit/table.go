package limit

import (
	"math"
	"math/bits"
	"sync"
	"time"
	"unsafe"
)

// ways is the associativity of a table: a source's hash picks a set of
// this many slots, and it lives in one of them.
const ways = 4

// stripes is the number of locks of a table; a set is guarded by the
// stripe of its index.
const stripes = 256

// slot is one source's state: the hash that names it (0: empty) and its
// theoretical arrival time, in Unix nanoseconds (GCRA).
type slot struct {
	key uint64
	tat int64
}

// table is a fixed-size, set-associative map from source hash to GCRA
// state. Its memory is allocated once, by newTable.
type table struct {
	slots    []slot
	mask     uint64 // sets - 1
	interval int64  // ns between tokens: 1/rate
	burst    int64  // ns of credit: burst * interval
	locks    [stripes]paddedMutex
}

type paddedMutex struct {
	sync.Mutex
	_ [64 - unsafe.Sizeof(sync.Mutex{})]byte
}

func newTable(size int, rate float64, burst int) *table {
	if size < 64 {
		size = 64
	}
	n := 1 << bits.Len(uint(size-1)) // next power of two
	interval := float64(time.Second) / rate
	if interval < 1 {
		interval = 1
	}
	b := interval * float64(burst)
	if b > math.MaxInt64/4 {
		b = math.MaxInt64 / 4
	}
	return &table{
		slots:    make([]slot, n),
		mask:     uint64(n/ways - 1),
		interval: int64(interval),
		burst:    int64(b),
	}
}

func (t *table) bytes() int { return len(t.slots) * int(unsafe.Sizeof(slot{})) }

// take takes one token of the source h at now (Unix ns). wait is 0 when
// the token was there; otherwise how long until one will be (nothing was
// taken). evicted says another source was forgotten to make room.
func (t *table) take(h uint64, now int64) (wait time.Duration, evicted bool) {
	if h == 0 {
		h = 1 // 0 marks an empty slot
	}
	set := h & t.mask
	mu := &t.locks[set%stripes]
	mu.Lock()
	defer mu.Unlock()
	ws := t.slots[set*ways : set*ways+ways : set*ways+ways]
	s := t.find(ws, h, now, &evicted)
	tat := max(s.tat, now)
	next := tat + t.interval
	if over := next - now - t.burst; over > 0 {
		return time.Duration(over), evicted
	}
	s.tat = next
	return 0, evicted
}

// find returns h's slot in ws, claiming one if h has none: an empty slot,
// else one whose source has refilled (its state equals a new source's),
// else the one with the least debt.
func (t *table) find(ws []slot, h uint64, now int64, evicted *bool) *slot {
	victim := -1
	for i := range ws {
		switch {
		case ws[i].key == h:
			return &ws[i]
		case ws[i].key == 0 || ws[i].tat <= now:
			if victim < 0 {
				victim = i
			}
		}
	}
	if victim < 0 {
		victim = 0
		for i := 1; i < len(ws); i++ {
			if ws[i].tat < ws[victim].tat {
				victim = i
			}
		}
		*evicted = true
	}
	ws[victim] = slot{key: h, tat: now}
	return &ws[victim]
}
