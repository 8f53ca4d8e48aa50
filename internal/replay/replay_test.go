package replay

import (
	"encoding/binary"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

var t0 = time.Unix(1_900_000_000, 0)

func newSet(t testing.TB, cfg Config) *Set {
	t.Helper()
	s, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return s
}

func idOf(n uint64) ID {
	var id ID
	binary.BigEndian.PutUint64(id[:], n)
	binary.BigEndian.PutUint64(id[8:], ^n)
	return id
}

func use(t testing.TB, s *Set, id ID, exp int64, now time.Time) bool {
	t.Helper()
	fresh, err := s.Use(id, exp, now, Real)
	if err != nil {
		t.Fatalf("Use(%x, %d, %d): %v", id[:4], exp, now.Unix(), err)
	}
	return fresh
}

func TestUseOnce(t *testing.T) {
	s := newSet(t, Config{MaxEntries: 100})
	exp := t0.Unix() + 60
	if !use(t, s, idOf(1), exp, t0) {
		t.Fatal("first use: not fresh")
	}
	if use(t, s, idOf(1), exp, t0) {
		t.Fatal("second use: fresh, want replay")
	}
	if use(t, s, idOf(1), exp, t0.Add(30*time.Second)) {
		t.Fatal("use later in the window: fresh, want replay")
	}
	if !use(t, s, idOf(2), exp, t0) {
		t.Fatal("another id: not fresh")
	}
	if s.Len() != 2 {
		t.Errorf("Len = %d, want 2", s.Len())
	}
}

func TestUseErrors(t *testing.T) {
	s := newSet(t, Config{MaxEntries: 10, Window: 5 * time.Minute})
	now := t0.Add(500 * time.Millisecond)
	for _, tc := range []struct {
		name string
		exp  int64
		want error
	}{
		{"fail/expires-now", t0.Unix(), ErrExpired},
		{"fail/expired", t0.Unix() - 10, ErrExpired},
		{"fail/beyond-window", t0.Unix() + 301, ErrWindow},
		{"ok/edge-of-window", t0.Unix() + 300, nil},
		{"ok/next-second", t0.Unix() + 1, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fresh, err := s.Use(idOf(uint64(tc.exp)), tc.exp, now, Real)
			if !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
				t.Fatalf("Use = %v, want %v", err, tc.want)
			}
			if fresh != (err == nil) {
				t.Errorf("fresh = %v with error %v", fresh, err)
			}
		})
	}
}

func TestNewErrors(t *testing.T) {
	for _, cfg := range []Config{{}, {MaxEntries: -1}, {MaxEntries: 1, Window: time.Millisecond}} {
		if _, err := New(cfg); !errors.Is(err, ErrConfig) {
			t.Errorf("New(%+v) = %v, want ErrConfig", cfg, err)
		}
	}
}

// TestNeverForgetsInsideWindow walks the clock through the whole window,
// sweeping every second: every id must stay used until its expiry second.
func TestNeverForgetsInsideWindow(t *testing.T) {
	const n = 5000
	s := newSet(t, Config{MaxEntries: n})
	exp := t0.Unix() + 60
	for i := range n {
		use(t, s, idOf(uint64(i)), exp-int64(i%3), t0)
	}
	for now := t0; now.Unix() < exp-2; now = now.Add(time.Second) {
		s.Sweep(now)
		if s.Len() != n {
			t.Fatalf("at +%v: Len = %d, want %d", now.Sub(t0), s.Len(), n)
		}
		for i := range n {
			if use(t, s, idOf(uint64(i)), exp-int64(i%3), now) {
				t.Fatalf("at +%v: id %d fresh again inside its window", now.Sub(t0), i)
			}
		}
	}
}

func TestExpiryReclaimsMemory(t *testing.T) {
	const n = 3000
	s := newSet(t, Config{MaxEntries: n})
	for i := range n {
		use(t, s, idOf(uint64(i)), t0.Unix()+1+int64(i%30), t0)
	}
	if got := s.Sweep(t0.Add(15 * time.Second)); got != n/2 {
		t.Errorf("Sweep at +15s dropped %d, want %d", got, n/2)
	}
	if s.Len() != n/2 {
		t.Errorf("Len = %d, want %d", s.Len(), n/2)
	}
	if got := s.Sweep(t0.Add(30 * time.Second)); got != n/2 {
		t.Errorf("Sweep at +30s dropped %d, want %d", got, n/2)
	}
	if s.Len() != 0 {
		t.Errorf("Len = %d, want 0", s.Len())
	}
	for i := range s.shards {
		sh := &s.shards[i]
		if len(sh.buckets) != 0 || len(sh.order) != 0 {
			t.Fatalf("shard %d keeps %d buckets, %d keys after expiry", i, len(sh.buckets), len(sh.order))
		}
	}
}

// TestClockStepsBack: once a second is swept, a pair expiring in it is
// refused, so a wall clock stepping back cannot revive a forgotten nonce.
func TestClockStepsBack(t *testing.T) {
	s := newSet(t, Config{MaxEntries: 10})
	exp := t0.Unix() + 10
	use(t, s, idOf(1), exp, t0)
	s.Sweep(time.Unix(exp+1, 0))
	fresh, err := s.Use(idOf(1), exp, t0.Add(5*time.Second), Real)
	if fresh || !errors.Is(err, ErrExpired) {
		t.Fatalf("after the clock stepped back: Use = %v, %v; want false, ErrExpired", fresh, err)
	}
}

// TestClockJumpsAheadAndBack: a clock that jumps far ahead and comes back
// (a wrong clock corrected) makes the set refuse only the pairs it really
// dropped meanwhile, not every nonce until real time catches up.
func TestClockJumpsAheadAndBack(t *testing.T) {
	s := newSet(t, Config{MaxEntries: 100})
	early := t0.Unix() + 10
	use(t, s, idOf(1), early, t0)
	ahead := t0.Add(31 * 24 * time.Hour)
	use(t, s, idOf(2), ahead.Unix()+60, ahead) // sweeps idOf(1)'s shard
	s.Sweep(ahead)                             // and every other
	back := t0.Add(2 * time.Second)
	if fresh, err := s.Use(idOf(1), early, back, Real); fresh || !errors.Is(err, ErrExpired) {
		t.Fatalf("the dropped pair after the clock came back: Use = %v, %v; want false, ErrExpired", fresh, err)
	}
	for i := range 64 { // one per shard, more or less
		id := idOf(uint64(100 + i))
		if fresh, err := s.Use(id, back.Unix()+60, back, Real); !fresh || err != nil {
			t.Fatalf("a new nonce after the clock came back: Use = %v, %v; want true, nil", fresh, err)
		}
		if use(t, s, id, back.Unix()+60, back) {
			t.Fatal("its replay was fresh")
		}
	}
}

func TestFullFailsClosed(t *testing.T) {
	s := newSet(t, Config{MaxEntries: 8})
	for i := range 8 {
		use(t, s, idOf(uint64(i)), t0.Unix()+5, t0)
	}
	fresh, err := s.Use(idOf(100), t0.Unix()+60, t0, Real)
	if fresh || !errors.Is(err, ErrFull) {
		t.Fatalf("Use beyond MaxEntries = %v, %v; want false, ErrFull", fresh, err)
	}
	if use(t, s, idOf(3), t0.Unix()+5, t0) {
		t.Fatal("a replay while full was fresh")
	}
	if s.Len() != 8 {
		t.Errorf("Len = %d, want 8: nothing forgotten", s.Len())
	}
	// Once the first entries expire, a Use in any shard reclaims them.
	if !use(t, s, idOf(100), t0.Unix()+60, t0.Add(5*time.Second)) {
		t.Fatal("after expiry: not fresh")
	}
	if s.Len() != 1 {
		t.Errorf("Len = %d, want 1", s.Len())
	}
}

// TestRaceSameID: goroutines race the same id; exactly one wins each round.
func TestRaceSameID(t *testing.T) {
	s := newSet(t, Config{MaxEntries: 1 << 16})
	const goroutines, rounds = 32, 200
	for r := range rounds {
		var wins atomic.Int32
		var wg sync.WaitGroup
		start := make(chan struct{})
		for range goroutines {
			wg.Go(func() {
				<-start
				fresh, err := s.Use(idOf(uint64(r)), t0.Unix()+60, t0, Real)
				if err != nil {
					t.Error(err)
				}
				if fresh {
					wins.Add(1)
				}
			})
		}
		close(start)
		wg.Wait()
		if w := wins.Load(); w != 1 {
			t.Fatalf("round %d: %d winners, want 1", r, w)
		}
	}
}

func TestConcurrentDistinct(t *testing.T) {
	s := newSet(t, Config{MaxEntries: 1 << 16})
	const goroutines, per = 16, 1000
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			for i := range per {
				now := t0.Add(time.Duration(i%5) * time.Second)
				id := idOf(uint64(g*per + i))
				if fresh, err := s.Use(id, t0.Unix()+30, now, Real); !fresh || err != nil {
					t.Errorf("Use(%d) = %v, %v", g*per+i, fresh, err)
					return
				}
				if i%100 == 0 {
					s.Sweep(now)
				}
			}
		})
	}
	wg.Wait()
	if s.Len() != goroutines*per {
		t.Errorf("Len = %d, want %d", s.Len(), goroutines*per)
	}
}
