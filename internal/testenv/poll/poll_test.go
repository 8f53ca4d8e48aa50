package poll

import (
	"testing"
	"testing/synctest"
	"time"
)

// TestForWaitsUntilOK: on a synctest bubble's clock, For returns true as
// soon as ok holds (looking every Every), and false once within passed
// with ok never holding, having looked again at the deadline.
func TestForWaitsUntilOK(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		ready := start.Add(95 * time.Millisecond)
		if !For(time.Second, func() bool { return !time.Now().Before(ready) }) {
			t.Fatal("For gave up before ok held")
		}
		if waited := time.Since(start); waited < 95*time.Millisecond || waited > 95*time.Millisecond+Every {
			t.Fatalf("For returned after %v, want within one Every of 95ms", waited)
		}
		looks := 0
		start = time.Now()
		if For(200*time.Millisecond, func() bool { looks++; return false }) {
			t.Fatal("For reported a state that never held")
		}
		// One look at once, one a tick until the deadline (the tick at
		// 200 ms races it), one at the deadline.
		if waited := time.Since(start); waited != 200*time.Millisecond || looks < 21 || looks > 22 {
			t.Fatalf("gave up after %v and %d looks, want 200ms and 21 or 22", waited, looks)
		}
	})
}
