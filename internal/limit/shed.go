package limit

import (
	"context"
	"math"
	"math/rand/v2"
	"runtime/metrics"
	"time"

	"github.com/attestd/attestd/internal/apierr"
)

// Shedding on queueing delay.
//
// A bound on requests in flight does not see the queue of a CPU-bound node:
// with few cores, each request runs its handler to the end, so at most a
// handful are ever "in flight" while thousands wait, already sent, in socket
// buffers and in the Go scheduler's run queue. (Measured: a 1-core node at
// 3× its capacity with MaxInFlight 32 never refused a request, and its
// admitted p99 was 150 ms and rising.) What does see that queue is the time
// runnable goroutines wait for a CPU, which the runtime measures
// (/sched/latencies:seconds). Run samples it every QueueInterval; while its
// p90 over the last interval exceeds MaxQueueDelay, the share of new
// requests that AdmitRequest refuses rises by shedStep (up to shedMax), and
// once the delay is back under the bound it halves each interval, so that a
// node stops refusing within a few intervals of the load dropping.
// A refusal costs the node a parse and a short answer: a tenth of an
// attest's work.

const (
	// DefaultQueueInterval is Config.QueueInterval when it is zero.
	DefaultQueueInterval = 50 * time.Millisecond
	shedStep             = 0.05
	shedMax              = 0.95
	shedFloor            = 0.01 // below this, stop refusing
)

const schedLatencies = "/sched/latencies:seconds"

// Run samples the scheduler's queueing delay until ctx ends, adjusting the
// share of requests AdmitRequest sheds. It does nothing (and returns at
// once) unless Config.MaxQueueDelay is set. Call it once, as one of the
// node's tasks.
func (l *Limiter) Run(ctx context.Context) error {
	if l == nil || l.cfg.MaxQueueDelay <= 0 {
		return nil
	}
	s := []metrics.Sample{{Name: schedLatencies}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindFloat64Histogram {
		return nil // not measured by this runtime: queue shedding stays off
	}
	prev := append([]uint64(nil), s[0].Value.Float64Histogram().Counts...)
	t := time.NewTicker(l.cfg.QueueInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		metrics.Read(s)
		h := s[0].Value.Float64Histogram()
		d := quantileDelta(h.Counts, prev, h.Buckets, 0.9)
		copy(prev, h.Counts)
		l.adjust(d)
	}
}

// quantileDelta returns quantile q of the histogram counts-prev whose
// bucket i spans buckets[i]..buckets[i+1], as that bucket's upper bound (its
// lower bound for the last, open bucket); 0 when nothing was counted.
func quantileDelta(counts, prev []uint64, buckets []float64, q float64) time.Duration {
	var total uint64
	for i := range counts {
		total += counts[i] - prev[i]
	}
	if total == 0 {
		return 0
	}
	rank := uint64(math.Ceil(q * float64(total)))
	var seen uint64
	for i := range counts {
		seen += counts[i] - prev[i]
		if seen >= rank {
			v := buckets[i+1]
			if math.IsInf(v, 1) {
				v = buckets[i]
			}
			return time.Duration(v * float64(time.Second))
		}
	}
	return 0
}

// adjust moves the shed share after an interval whose queueing delay was d.
func (l *Limiter) adjust(d time.Duration) {
	l.queueDelay.Store(int64(d))
	p := math.Float64frombits(l.shedP.Load())
	if d > l.cfg.MaxQueueDelay {
		p = min(p+shedStep, shedMax)
	} else if p /= 2; p < shedFloor {
		p = 0
	}
	l.shedP.Store(math.Float64bits(p))
}

// shedding reports whether to refuse this request to drain the queue.
func (l *Limiter) shedding() bool {
	p := math.Float64frombits(l.shedP.Load())
	return p > 0 && rand.Float64() < p
}

// ShedShare is the share of new requests being refused for queueing delay.
func (l *Limiter) ShedShare() float64 {
	if l == nil {
		return 0
	}
	return math.Float64frombits(l.shedP.Load())
}

var errShed = apierr.ErrOverloaded
