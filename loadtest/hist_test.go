package loadtest

import (
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"
)

func TestBucketsCoverAndOrder(t *testing.T) {
	prev := -1
	for _, v := range []uint64{0, 1, 255, 256, 257, 511, 512, 1000, 1 << 20, 1<<40 + 12345, 1<<63 - 1, 1<<64 - 1} {
		i := bucketOf(v)
		if i < 0 || i >= numBuckets {
			t.Fatalf("bucketOf(%d) = %d outside [0,%d)", v, i, numBuckets)
		}
		if i < prev {
			t.Errorf("bucketOf(%d) = %d below the previous value's %d", v, i, prev)
		}
		prev = i
		if hi := bucketHigh(i); hi < v {
			t.Errorf("bucketHigh(%d) = %d below %d", i, hi, v)
		}
		if i > 0 && bucketHigh(i-1) >= v {
			t.Errorf("value %d also fits bucket %d", v, i-1)
		}
	}
	// Every bucket's high end maps back to it, and the next value to the next.
	for i := 0; i < numBuckets-1; i++ {
		hi := bucketHigh(i)
		if bucketOf(hi) != i || bucketOf(hi+1) != i+1 {
			t.Fatalf("bucket %d: high %d maps to %d, high+1 to %d", i, hi, bucketOf(hi), bucketOf(hi+1))
		}
	}
}

func TestQuantilesWithinPrecision(t *testing.T) {
	var h Histogram
	rng := rand.New(rand.NewPCG(3, 4))
	vals := make([]time.Duration, 200_000)
	for i := range vals {
		// Log-uniform from 10 µs to 10 s.
		v := time.Duration(10e3 * math.Pow(10, rng.Float64()*6))
		vals[i] = v
		h.Record(v)
	}
	slices.Sort(vals)
	s := h.Snapshot()
	if s.N != uint64(len(vals)) || s.Max != vals[len(vals)-1] || s.Min != vals[0] {
		t.Fatalf("N %d max %v min %v", s.N, s.Max, s.Min)
	}
	for _, q := range []float64{0.5, 0.9, 0.99, 0.999, 1} {
		exact := vals[max(int(q*float64(len(vals))+0.999999)-1, 0)]
		got := s.Quantile(q)
		if got < exact || float64(got-exact) > float64(exact)/128+1 {
			t.Errorf("q%.3f = %v, exact %v: outside 1/128", q, got, exact)
		}
	}
}

func TestExactSmallValuesAndEmpty(t *testing.T) {
	var h Histogram
	if q := h.Snapshot().Quantile(0.99); q != 0 {
		t.Errorf("empty p99 %v", q)
	}
	for v := 1; v <= 100; v++ {
		h.Record(time.Duration(v))
	}
	s := h.Snapshot()
	if s.Quantile(0.5) != 50 || s.Quantile(0.99) != 99 || s.Quantile(1) != 100 || s.Mean() != 50 {
		t.Errorf("p50 %v p99 %v max %v mean %v", s.Quantile(0.5), s.Quantile(0.99), s.Quantile(1), s.Mean())
	}
}

func TestConcurrentRecordAndMerge(t *testing.T) {
	var a, b Histogram
	var wg sync.WaitGroup
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 10_000; i++ {
				a.Record(time.Millisecond)
				b.Record(2 * time.Millisecond)
			}
		}()
	}
	wg.Wait()
	s := a.Snapshot()
	s.Merge(b.Snapshot())
	if s.N != 160_000 || s.Min != time.Millisecond || s.Max != 2*time.Millisecond {
		t.Errorf("merged N %d min %v max %v", s.N, s.Min, s.Max)
	}
	if p := s.Quantile(0.25); p < time.Millisecond || p > time.Millisecond*129/128 {
		t.Errorf("p25 %v", p)
	}
}
