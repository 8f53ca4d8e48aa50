package limit

import (
	"context"
	"errors"
	"math"
	"testing"
	"time"

	"github.com/attestd/attestd/internal/apierr"
)

func TestQuantileDelta(t *testing.T) {
	buckets := []float64{0, 0.001, 0.01, 0.1, math.Inf(1)}
	prev := []uint64{10, 10, 10, 10}
	for _, tc := range []struct {
		counts []uint64
		want   time.Duration
	}{
		{[]uint64{10, 10, 10, 10}, 0},                       // nothing new
		{[]uint64{100, 10, 10, 10}, time.Millisecond},       // all under 1 ms
		{[]uint64{19, 10, 101, 10}, 100 * time.Millisecond}, // p90 in the 10-100 ms bucket
		{[]uint64{10, 10, 10, 50}, 100 * time.Millisecond},  // the open bucket: its lower bound
	} {
		if got := quantileDelta(tc.counts, prev, buckets, 0.9); got != tc.want {
			t.Errorf("counts %v: p90 %v, want %v", tc.counts, got, tc.want)
		}
	}
}

func TestShedRisesUnderDelayAndStopsAtOnce(t *testing.T) {
	l := newLimiter(t, Config{MaxQueueDelay: 20 * time.Millisecond})
	refused := func(n int) int {
		r := 0
		for i := 0; i < n; i++ {
			release, err := l.AdmitRequest()
			if err != nil {
				if pub := apierr.From(err); !errors.Is(err, apierr.ErrOverloaded) || pub.RetryAfter != 1 || pub.Status != 503 {
					t.Fatalf("refusal %v", err)
				}
				r++
			}
			release()
		}
		return r
	}
	if refused(1000) != 0 {
		t.Fatal("refusing before any delay was seen")
	}
	for i := 0; i < 100; i++ { // a long stall
		l.adjust(80 * time.Millisecond)
	}
	if s := l.ShedShare(); s != shedMax {
		t.Fatalf("share %v after a long stall, want the cap %v", s, shedMax)
	}
	if r := refused(10_000); r < 9300 || r > 9700 {
		t.Errorf("%d of 10000 refused at share 0.95", r)
	}
	if l.InFlight() != 0 {
		t.Errorf("refusals left %d in flight", l.InFlight())
	}
	// The delay is gone: within a few intervals nothing is refused.
	for i := 0; i < 7; i++ {
		l.adjust(time.Millisecond)
	}
	if s := l.ShedShare(); s != 0 {
		t.Errorf("share %v seven quiet intervals after, want 0", s)
	}
	if refused(1000) != 0 {
		t.Error("still refusing after the delay went")
	}
	st := l.Stats()
	if st.Shed < 9300 || st.QueueDelay != time.Millisecond || st.MaxQueueDelay != 20*time.Millisecond {
		t.Errorf("stats %+v", st)
	}
}

func TestShedStepsUpGradually(t *testing.T) {
	l := newLimiter(t, Config{MaxQueueDelay: 10 * time.Millisecond})
	l.adjust(50 * time.Millisecond)
	if s := l.ShedShare(); math.Abs(s-shedStep) > 1e-9 {
		t.Errorf("one slow interval: share %v, want %v", s, shedStep)
	}
	l.adjust(10 * time.Millisecond) // at the bound is not over it
	if s := l.ShedShare(); math.Abs(s-shedStep/2) > 1e-9 {
		t.Errorf("share %v, want it halved", s)
	}
	l.adjust(0)
	l.adjust(0)
	if s := l.ShedShare(); s != 0 {
		t.Errorf("share %v, want 0 once under the floor", s)
	}
}

func TestRunOffAndStops(t *testing.T) {
	// Off: returns at once.
	if err := newLimiter(t, Config{}).Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	var nilL *Limiter
	if err := nilL.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	// On: samples until ctx ends; an idle process has no delay to shed for.
	l := newLimiter(t, Config{MaxQueueDelay: time.Second, QueueInterval: 5 * time.Millisecond})
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if err := l.Run(ctx); err != nil {
		t.Fatal(err)
	}
	if l.ShedShare() != 0 {
		t.Errorf("shed share %v on an idle process", l.ShedShare())
	}
}
