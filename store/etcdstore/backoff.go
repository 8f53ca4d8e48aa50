package etcdstore

import (
	"context"
	"math/rand/v2"
	"time"
)

// backoff is an exponential backoff with jitter: the n-th delay is drawn
// uniformly from [d/2, d] where d = min(max, min·2ⁿ), so many nodes that
// lost etcd together do not come back in lockstep. The zero step is min.
// Not safe for concurrent use (each Watch has its own).
type backoff struct {
	min, max time.Duration
	cur      time.Duration
	// rnd returns a number in [0, n); nil means math/rand/v2.
	rnd func(n int64) int64
}

func newBackoff(min, max time.Duration) *backoff {
	return &backoff{min: min, max: max}
}

// next returns the delay before the next attempt and doubles the next one.
func (b *backoff) next() time.Duration {
	if b.cur < b.min {
		b.cur = b.min
	}
	d := b.cur
	if b.cur < b.max {
		b.cur = min(2*b.cur, b.max)
	}
	r := b.rnd
	if r == nil {
		r = rand.Int64N
	}
	half := d / 2
	return half + time.Duration(r(int64(d-half)+1))
}

// reset starts over from min after a success.
func (b *backoff) reset() { b.cur = 0 }

// sleep waits d or until ctx ends; it reports whether d passed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
