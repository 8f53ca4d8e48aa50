package replay

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// benchClock advances one second every 4096 uses with a 60 s lifetime,
// so the set holds about 250k pairs in steady state, as a busy node would.
func benchArgs(i uint64) (ID, int64, time.Time) {
	now := t0.Add(time.Duration(i>>12) * time.Second)
	return idOf(i * 0x9e3779b97f4a7c15), now.Unix() + 60, now
}

func BenchmarkUse(b *testing.B) {
	s := newSet(b, Config{MaxEntries: 1 << 20})
	b.ReportAllocs()
	var i uint64
	for b.Loop() {
		id, exp, now := benchArgs(i)
		i++
		if fresh, err := s.Use(id, exp, now, Real); !fresh || err != nil {
			b.Fatal(fresh, err)
		}
	}
}

func BenchmarkUseParallel(b *testing.B) {
	s := newSet(b, Config{MaxEntries: 1 << 20})
	var next atomic.Uint64
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			id, exp, now := benchArgs(next.Add(1))
			if fresh, err := s.Use(id, exp, now, Real); !fresh || err != nil {
				b.Error(fresh, err)
				return
			}
		}
	})
}

func BenchmarkUseReplay(b *testing.B) {
	s := newSet(b, Config{MaxEntries: 1 << 10})
	id := idOf(1)
	exp := t0.Unix() + 60
	use(b, s, id, exp, t0)
	b.ReportAllocs()
	for b.Loop() {
		if fresh, _ := s.Use(id, exp, t0, Real); fresh {
			b.Fatal("fresh")
		}
	}
}

// BenchmarkBaselineMutexMap is the naive twin: one map under one mutex,
// with nothing ever dropped.
func BenchmarkBaselineMutexMap(b *testing.B) {
	var mu sync.Mutex
	m := make(map[ID]int64)
	var next atomic.Uint64
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			id, exp, _ := benchArgs(next.Add(1))
			mu.Lock()
			m[id] = exp
			mu.Unlock()
		}
	})
}
