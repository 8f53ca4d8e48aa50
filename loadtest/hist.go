package loadtest

import (
	"math/bits"
	"sync/atomic"
	"time"
)

// Histogram is an HDR-style log-linear histogram of durations: values below
// 2^subBits ns are counted exactly; above, each power of two is split into
// 2^(subBits-1) equal buckets, so a recorded value is known to within
// 1/2^(subBits-1) (0.8 %) of itself, from 1 ns to 292 years, in a fixed
// 59 KiB. Record is lock-free and safe for concurrent use; quantiles are
// read from a Snapshot.
type Histogram struct {
	counts [numBuckets]atomic.Uint64
	n      atomic.Uint64
	sum    atomic.Uint64
	max    atomic.Int64
	min    atomic.Int64 // 0 until the first value, stored +1
}

const (
	subBits    = 8
	subCount   = 1 << subBits
	halfCount  = subCount / 2
	numBuckets = subCount + (64-subBits)*halfCount
)

// bucketOf returns the bucket index of v.
func bucketOf(v uint64) int {
	if v < subCount {
		return int(v)
	}
	shift := bits.Len64(v) - subBits // ≥ 1
	top := v >> uint(shift)          // in [halfCount, subCount)
	return subCount + (shift-1)*halfCount + int(top-halfCount)
}

// bucketHigh is the highest value that falls in bucket i.
func bucketHigh(i int) uint64 {
	if i < subCount {
		return uint64(i)
	}
	j := i - subCount
	shift := j/halfCount + 1
	top := uint64(j%halfCount + halfCount)
	return (top+1)<<uint(shift) - 1
}

// Record adds one duration (negative counts as 0).
func (h *Histogram) Record(d time.Duration) {
	v := max(int64(d), 0)
	h.counts[bucketOf(uint64(v))].Add(1)
	h.n.Add(1)
	h.sum.Add(uint64(v))
	for {
		m := h.max.Load()
		if v <= m || h.max.CompareAndSwap(m, v) {
			break
		}
	}
	for {
		m := h.min.Load()
		if m != 0 && v+1 >= m || h.min.CompareAndSwap(m, v+1) {
			break
		}
	}
}

// Count is the number of values recorded.
func (h *Histogram) Count() uint64 { return h.n.Load() }

// Snapshot is a point-in-time copy of a Histogram.
type Snapshot struct {
	counts   []uint64
	N        uint64
	Sum, Max time.Duration
	Min      time.Duration
}

// Snapshot copies the histogram. Values recorded during the copy may or
// may not be in it.
func (h *Histogram) Snapshot() *Snapshot {
	s := &Snapshot{counts: make([]uint64, numBuckets)}
	for i := range h.counts {
		c := h.counts[i].Load()
		s.counts[i] = c
		s.N += c
	}
	s.Sum = time.Duration(h.sum.Load())
	s.Max = time.Duration(h.max.Load())
	if m := h.min.Load(); m > 0 {
		s.Min = time.Duration(m - 1)
	}
	return s
}

// Merge adds o's counts to s.
func (s *Snapshot) Merge(o *Snapshot) {
	if s.counts == nil {
		s.counts = make([]uint64, numBuckets)
	}
	for i, c := range o.counts {
		s.counts[i] += c
	}
	if o.N > 0 && (s.N == 0 || o.Min < s.Min) {
		s.Min = o.Min
	}
	s.N += o.N
	s.Sum += o.Sum
	s.Max = max(s.Max, o.Max)
}

// Quantile returns the value at quantile q (0 ≤ q ≤ 1): the highest value
// of the bucket holding the ceil(q·N)-th smallest value, never above Max.
// It is 0 for an empty snapshot.
func (s *Snapshot) Quantile(q float64) time.Duration {
	if s.N == 0 {
		return 0
	}
	rank := uint64(q*float64(s.N) + 0.999999)
	rank = min(max(rank, 1), s.N)
	var seen uint64
	for i, c := range s.counts {
		seen += c
		if seen >= rank {
			return min(time.Duration(bucketHigh(i)), s.Max)
		}
	}
	return s.Max
}

// Mean is the average value.
func (s *Snapshot) Mean() time.Duration {
	if s.N == 0 {
		return 0
	}
	return s.Sum / time.Duration(s.N)
}
