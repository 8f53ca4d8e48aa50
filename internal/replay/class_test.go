package replay

import (
	"errors"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fill uses n fresh pairs of class c, ids from base on.
func fill(t testing.TB, s *Set, c Class, base uint64, n int, exp int64, now time.Time) {
	t.Helper()
	for i := range n {
		if fresh, err := s.Use(idOf(base+uint64(i)), exp, now, c); !fresh || err != nil {
			t.Fatalf("fill %d: Use = %v, %v", i, fresh, err)
		}
	}
}

// TestDecoyFloodDoesNotDenyReal: a full Decoy budget refuses decoys only;
// pairs of the Real class are still recorded, up to their own budget.
func TestDecoyFloodDoesNotDenyReal(t *testing.T) {
	const budget = 100
	s := newSet(t, Config{MaxEntries: budget})
	exp := t0.Unix() + 60
	fill(t, s, Decoy, 0, budget, exp, t0)
	if fresh, err := s.Use(idOf(1_000_000), exp, t0, Decoy); fresh || !errors.Is(err, ErrFull) {
		t.Fatalf("a decoy past its budget: Use = %v, %v; want ErrFull", fresh, err)
	}
	fill(t, s, Real, 10_000, budget, exp, t0)
	if fresh, err := s.Use(idOf(1_000_001), exp, t0, Real); fresh || !errors.Is(err, ErrFull) {
		t.Fatalf("a real pair past its budget: Use = %v, %v; want ErrFull", fresh, err)
	}
	if s.LenOf(Decoy) != budget || s.LenOf(Real) != budget || s.Len() != 2*budget || s.LenOf(NumClasses) != 0 {
		t.Fatalf("Len %d, Real %d, Decoy %d", s.Len(), s.LenOf(Real), s.LenOf(Decoy))
	}
}

// TestReplayIsReplayInEveryClass: a pair used under one class is used for
// all, and a replay is answered as one even when its class is full.
func TestReplayIsReplayInEveryClass(t *testing.T) {
	s := newSet(t, Config{MaxEntries: 2})
	exp := t0.Unix() + 60
	fill(t, s, Decoy, 0, 2, exp, t0)
	fill(t, s, Real, 10, 2, exp, t0)
	for _, tc := range []struct {
		id uint64
		c  Class
	}{{0, Real}, {0, Decoy}, {10, Decoy}, {10, Real}} {
		if fresh, err := s.Use(idOf(tc.id), exp, t0, tc.c); fresh || err != nil {
			t.Errorf("replay of %d as class %d: Use = %v, %v; want false, nil", tc.id, tc.c, fresh, err)
		}
		if !s.Seen(idOf(tc.id), exp) {
			t.Errorf("%d not seen", tc.id)
		}
	}
}

// TestExpiryGivesEachClassItsBudgetBack: dropping a second returns its
// pairs to the budgets they were counted against, and only those.
func TestExpiryGivesEachClassItsBudgetBack(t *testing.T) {
	s := newSet(t, Config{MaxEntries: 50})
	fill(t, s, Decoy, 0, 50, t0.Unix()+5, t0)
	fill(t, s, Real, 100, 20, t0.Unix()+5, t0)
	fill(t, s, Real, 200, 10, t0.Unix()+60, t0)
	later := t0.Add(5 * time.Second)
	if got := s.Sweep(later); got != 70 {
		t.Fatalf("Sweep dropped %d, want 70", got)
	}
	if s.LenOf(Decoy) != 0 || s.LenOf(Real) != 10 {
		t.Fatalf("after expiry: Real %d, Decoy %d; want 10, 0", s.LenOf(Real), s.LenOf(Decoy))
	}
	fill(t, s, Decoy, 300, 50, later.Unix()+60, later)
	fill(t, s, Real, 400, 40, later.Unix()+60, later)
	if _, err := s.Use(idOf(999), later.Unix()+60, later, Real); !errors.Is(err, ErrFull) {
		t.Fatalf("Real past 50: %v", err)
	}
}

// TestFullClassReclaimsExpiredPairsOfOtherShards: a Use that finds its
// class full sweeps every shard once before it refuses.
func TestFullClassReclaimsExpiredPairsOfOtherShards(t *testing.T) {
	s := newSet(t, Config{MaxEntries: 64})
	fill(t, s, Decoy, 0, 64, t0.Unix()+1, t0)
	later := t0.Add(time.Second)
	fill(t, s, Decoy, 1000, 64, later.Unix()+60, later)
}

func TestUseUnknownClass(t *testing.T) {
	s := newSet(t, Config{MaxEntries: 10})
	if fresh, err := s.Use(idOf(1), t0.Unix()+60, t0, NumClasses); fresh || !errors.Is(err, ErrConfig) {
		t.Fatalf("Use with class %d = %v, %v; want ErrConfig", NumClasses, fresh, err)
	}
	if s.Len() != 0 || s.Seen(idOf(1), t0.Unix()+60) {
		t.Fatal("an unknown class recorded the pair")
	}
}

// TestRaceSameIDAcrossClasses: requests racing one nonce under different
// classes (one body that passes, one that fails, one of a monitor-mode
// app) get at most one fresh answer between them, also when the Decoy
// budget is full (a class with room then wins).
func TestRaceSameIDAcrossClasses(t *testing.T) {
	for _, decoyFull := range []bool{false, true} {
		s := newSet(t, Config{MaxEntries: 1 << 12})
		if decoyFull {
			fill(t, s, Decoy, 1<<40, 1<<12, t0.Unix()+120, t0)
		}
		const goroutines, rounds = 16, 200
		for r := range rounds {
			var wins, otherWins, full atomic.Int32
			var wg sync.WaitGroup
			start := make(chan struct{})
			for g := range goroutines {
				c := Class(g % NumClasses)
				wg.Go(func() {
					<-start
					fresh, err := s.Use(idOf(uint64(r)), t0.Unix()+60, t0, c)
					switch {
					case errors.Is(err, ErrFull) && c == Decoy && decoyFull:
						full.Add(1)
					case err != nil:
						t.Error(err)
					case fresh:
						wins.Add(1)
						if c != Decoy {
							otherWins.Add(1)
						}
					}
				})
			}
			close(start)
			wg.Wait()
			if w := wins.Load(); w != 1 {
				t.Fatalf("decoy budget full %v, round %d: %d fresh answers, want 1", decoyFull, r, w)
			}
			if decoyFull && otherWins.Load() != 1 {
				t.Fatalf("round %d: a decoy won while its budget was full", r)
			}
		}
	}
}

// BenchmarkBytesPerEntry measures the heap a full set holds per live pair
// (the figure behind BytesPerEntry and the --replay-max help), with pairs
// spread over a 60 s lifetime as a busy node's are.
func BenchmarkBytesPerEntry(b *testing.B) {
	const n = 1 << 20
	var per float64
	for b.Loop() {
		var m0, m1 runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&m0)
		s := newSet(b, Config{MaxEntries: n})
		for i := range n {
			id, exp, now := benchArgs(uint64(i))
			if _, err := s.Use(id, exp, now, Class(i%NumClasses)); err != nil {
				b.Fatal(err)
			}
		}
		runtime.GC()
		runtime.ReadMemStats(&m1)
		per = float64(m1.HeapAlloc-m0.HeapAlloc) / float64(s.Len())
		runtime.KeepAlive(s)
	}
	b.ReportMetric(per, "B/entry")
}

// TestMonitorFloodDeniesNeitherRealNorDecoy: monitor-mode failures (which
// anyone who knows a monitor-mode app's id can make) fill only the Monitor
// budget; passes and decoys are still recorded, each up to its own.
func TestMonitorFloodDeniesNeitherRealNorDecoy(t *testing.T) {
	const budget = 50
	s := newSet(t, Config{MaxEntries: budget})
	exp := t0.Unix() + 60
	fill(t, s, Monitor, 0, budget, exp, t0)
	if fresh, err := s.Use(idOf(1_000_000), exp, t0, Monitor); fresh || !errors.Is(err, ErrFull) {
		t.Fatalf("a monitor pair past its budget: Use = %v, %v; want ErrFull", fresh, err)
	}
	fill(t, s, Real, 10_000, budget, exp, t0)
	fill(t, s, Decoy, 20_000, budget, exp, t0)
	if s.LenOf(Monitor) != budget || s.LenOf(Real) != budget || s.LenOf(Decoy) != budget || s.Len() != 3*budget {
		t.Fatalf("Len %d, Real %d, Decoy %d, Monitor %d", s.Len(), s.LenOf(Real), s.LenOf(Decoy), s.LenOf(Monitor))
	}
	// A nonce used as a monitor-mode failure is used for every class.
	if fresh, err := s.Use(idOf(0), exp, t0, Real); fresh || err != nil {
		t.Fatalf("replay of a monitor pair as Real: Use = %v, %v", fresh, err)
	}
	if got := s.Sweep(t0.Add(time.Minute)); got != 3*budget {
		t.Fatalf("Sweep dropped %d, want %d", got, 3*budget)
	}
	if s.LenOf(Monitor) != 0 {
		t.Fatalf("Monitor budget not given back: %d", s.LenOf(Monitor))
	}
}
