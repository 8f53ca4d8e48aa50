package limit

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/attestd/attestd/internal/apierr"
)

// fakeClock is a clock the test moves by hand.
type fakeClock struct{ ns atomic.Int64 }

func (c *fakeClock) now() time.Time          { return time.Unix(0, c.ns.Load()) }
func (c *fakeClock) advance(d time.Duration) { c.ns.Add(int64(d)) }

func newGated(t *testing.T, slots int, maxWait time.Duration, clock *fakeClock) *Limiter {
	t.Helper()
	l, err := New(Config{MaxQueueDelay: maxWait, VerifySlots: slots, Now: clock.now})
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// waitQueued waits until n callers are queued at the gate.
func waitQueued(t *testing.T, l *Limiter, n int64) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for l.Stats().VerifyWaiting != n {
		if time.Now().After(deadline) {
			t.Fatalf("%d callers queued, want %d", l.Stats().VerifyWaiting, n)
		}
		time.Sleep(time.Millisecond)
	}
}

// TestGateAdmitsInArrivalOrder: with every slot taken, callers wait and are
// let in one per freed slot, first come first served.
func TestGateAdmitsInArrivalOrder(t *testing.T) {
	var clock fakeClock
	l := newGated(t, 1, time.Hour, &clock)
	held, err := l.EnterVerify(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	order := make(chan int, 3)
	var wg sync.WaitGroup
	for i := range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tok, err := l.EnterVerify(context.Background())
			if err != nil {
				t.Errorf("caller %d: %v", i, err)
				return
			}
			order <- i
			l.LeaveVerify(tok)
		}()
		waitQueued(t, l, int64(i+1)) // caller i is in line before i+1 comes
	}
	select {
	case i := <-order:
		t.Fatalf("caller %d got a slot while it was held", i)
	case <-time.After(50 * time.Millisecond):
	}
	l.LeaveVerify(held)
	wg.Wait()
	close(order)
	want := 0
	for got := range order {
		if got != want {
			t.Fatalf("caller %d got its slot in place %d", got, want)
		}
		want++
	}
	if want != 3 {
		t.Fatalf("%d callers got a slot, want 3", want)
	}
}

// TestGateRefusesALongQueueAtOnce: once the cost of one verification is
// known, a caller who would wait longer than MaxQueueDelay behind the queue
// is refused with overloaded without waiting, and counted.
func TestGateRefusesALongQueueAtOnce(t *testing.T) {
	var clock fakeClock
	l := newGated(t, 1, 20*time.Millisecond, &clock)
	// One verification of 10 ms teaches the gate its cost.
	tok, _ := l.EnterVerify(context.Background())
	clock.advance(10 * time.Millisecond)
	l.LeaveVerify(tok)
	if c := l.Stats().VerifyCost; c != 10*time.Millisecond {
		t.Fatalf("cost %v after one 10 ms verification", c)
	}

	held, _ := l.EnterVerify(context.Background())
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var wg sync.WaitGroup
	for i := range 2 { // 10 ms and 20 ms of waiting: within the bound
		wg.Add(1)
		go func() {
			defer wg.Done()
			if tok, err := l.EnterVerify(ctx); err == nil {
				l.LeaveVerify(tok)
			}
		}()
		waitQueued(t, l, int64(i+1))
	}
	// A third would wait 30 ms: refused, at once.
	_, err := l.EnterVerify(context.Background())
	if !errors.Is(err, apierr.ErrOverloaded) {
		t.Fatalf("third in line: %v, want overloaded", err)
	}
	var ae *apierr.Error
	if !errors.As(err, &ae) || ae.RetryAfter < 1 {
		t.Fatalf("refusal without Retry-After: %#v", err)
	}
	if s := l.Stats(); s.VerifyRefused != 1 || s.VerifyWaiting != 2 {
		t.Fatalf("after the refusal: refused %d, waiting %d", s.VerifyRefused, s.VerifyWaiting)
	}
	l.LeaveVerify(held)
	wg.Wait()
	if s := l.Stats(); s.VerifyWaiting != 0 {
		t.Fatalf("%d still queued", s.VerifyWaiting)
	}
}

// TestGateWaiterLeavesWithItsContext: a caller whose context ends while it
// waits gets the context's error, leaves the queue, and takes no slot.
func TestGateWaiterLeavesWithItsContext(t *testing.T) {
	var clock fakeClock
	l := newGated(t, 1, time.Hour, &clock)
	held, _ := l.EnterVerify(context.Background())
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		_, err := l.EnterVerify(ctx)
		errc <- err
	}()
	waitQueued(t, l, 1)
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) || !errors.Is(err, apierr.ErrOverloaded) {
		t.Fatalf("cancelled waiter: %v", err)
	}
	waitQueued(t, l, 0)
	l.LeaveVerify(held)
	// The slot is free again: taken at once.
	tok, err := l.EnterVerify(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	l.LeaveVerify(tok)
}

// TestGateBoundsConcurrency: however many callers, no more than
// VerifySlots hold a slot at once.
func TestGateBoundsConcurrency(t *testing.T) {
	l, err := New(Config{MaxQueueDelay: time.Hour, VerifySlots: 2})
	if err != nil {
		t.Fatal(err)
	}
	var inside, most atomic.Int64
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 200 {
				tok, err := l.EnterVerify(context.Background())
				if err != nil {
					t.Error(err)
					return
				}
				n := inside.Add(1)
				for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
				}
				inside.Add(-1)
				l.LeaveVerify(tok)
			}
		}()
	}
	wg.Wait()
	if m := most.Load(); m > 2 {
		t.Fatalf("%d verifications at once with 2 slots", m)
	}
	if s := l.Stats(); s.VerifySlots != 2 || s.VerifyWaiting != 0 {
		t.Fatalf("stats after the run: %+v", s)
	}
}

// TestGateOff: without MaxQueueDelay there is no gate; a nil Limiter admits.
func TestGateOff(t *testing.T) {
	l, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	var nilL *Limiter
	for _, x := range []*Limiter{l, nilL} {
		tok, err := x.EnterVerify(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		x.LeaveVerify(tok)
	}
	if s := l.Stats(); s.VerifySlots != 0 {
		t.Fatalf("gate on without MaxQueueDelay: %+v", s)
	}
	if _, err := New(Config{VerifySlots: -1}); !errors.Is(err, ErrConfig) {
		t.Fatalf("negative VerifySlots: %v", err)
	}
}

// TestGateDoesNotAllocate: entering, leaving and being refused cost no
// allocation (refusals are what an attack is made of).
func TestGateDoesNotAllocate(t *testing.T) {
	skipIfRace(t)
	var clock fakeClock
	l := newGated(t, 1, time.Millisecond, &clock)
	ctx := context.Background()
	if a := testing.AllocsPerRun(1000, func() {
		tok, _ := l.EnterVerify(ctx)
		clock.advance(time.Second)
		l.LeaveVerify(tok)
	}); a != 0 {
		t.Errorf("enter and leave: %.1f allocations", a)
	}
	held, _ := l.EnterVerify(ctx) // cost is 1 s now: anyone queued is refused
	if a := testing.AllocsPerRun(1000, func() { _, _ = l.EnterVerify(ctx) }); a != 0 {
		t.Errorf("refusal: %.1f allocations", a)
	}
	l.LeaveVerify(held)
}
