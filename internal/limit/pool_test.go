package limit

import (
	"math"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/attestd/attestd/internal/apierr"
	"github.com/prometheus/client_golang/prometheus"
)

// overloaded fails unless err is overloaded, 503, Retry-After 1.
func overloaded(t *testing.T, what string, err error) {
	t.Helper()
	pub := apierr.From(err)
	if pub == nil || pub.Code != apierr.Overloaded || pub.Status != 503 || pub.RetryAfter != 1 {
		t.Fatalf("%s: %v, want overloaded 503 with Retry-After 1", what, err)
	}
}

// TestProxyPoolCannotTakeAPIPlaces is the proxy-upload denial of service
// at the limiter: with every proxied place held, the API's requests are
// still admitted up to their own bound, and with every API place held
// proxied requests still are; each pool refuses past its own bound only.
// Before, proxied requests took the API's places (AdmitRequest).
func TestProxyPoolCannotTakeAPIPlaces(t *testing.T) {
	l := newLimiter(t, Config{MaxInFlight: 3, ProxyMaxInFlight: 2})
	var held []func()
	for i := range 2 {
		r, err := l.AdmitProxied()
		if err != nil {
			t.Fatalf("proxied %d: %v", i, err)
		}
		held = append(held, r)
	}
	_, err := l.AdmitProxied()
	overloaded(t, "a proxied request past the proxy's bound", err)
	for i := range 3 {
		r, err := l.AdmitRequest()
		if err != nil {
			t.Fatalf("API request %d with the proxy's pool full: %v", i, err)
		}
		held = append(held, r)
	}
	_, err = l.AdmitRequest()
	overloaded(t, "an API request past the API's bound", err)
	if l.InFlight() != 3 || l.ProxyInFlight() != 2 {
		t.Errorf("in flight: API %d, proxied %d; want 3, 2", l.InFlight(), l.ProxyInFlight())
	}
	s := l.Stats()
	if s.Overloaded != 1 || s.ProxyOverloaded != 1 || s.MaxInFlight != 3 || s.ProxyMaxInFlight != 2 {
		t.Errorf("stats %+v", s)
	}
	// Releasing an API place frees an API place, not a proxied one.
	held[2]()
	if _, err := l.AdmitProxied(); err == nil {
		t.Error("an API release freed a proxied place")
	}
	r, err := l.AdmitRequest()
	if err != nil {
		t.Fatalf("API request after an API release: %v", err)
	}
	held[2] = r
	for _, r := range held {
		r()
	}
	if l.InFlight() != 0 || l.ProxyInFlight() != 0 {
		t.Errorf("in flight after every release: API %d, proxied %d", l.InFlight(), l.ProxyInFlight())
	}
}

// TestRefusalReleaseDoesNothing: the release a refusal returns gives back
// no place (calling it is harmless), in either pool, and so does the
// release of a pool without a bound: a place is given back exactly once,
// by the release of the admission that took it.
func TestRefusalReleaseDoesNothing(t *testing.T) {
	l := newLimiter(t, Config{MaxInFlight: 1, ProxyMaxInFlight: 1})
	for name, admit := range map[string]func() (func(), error){"api": l.AdmitRequest, "proxied": l.AdmitProxied} {
		in := map[string]func() int64{"api": l.InFlight, "proxied": l.ProxyInFlight}[name]
		r, err := admit()
		if err != nil {
			t.Fatal(err)
		}
		refusedRelease, err := admit()
		overloaded(t, name+": second admission", err)
		for range 3 {
			refusedRelease()
		}
		if in() != 1 {
			t.Errorf("%s: in flight %d after a refusal's release, want 1 (the place still held)", name, in())
		}
		if _, err := admit(); err == nil {
			t.Errorf("%s: a refusal's release freed the held place", name)
		}
		r()
		if in() != 0 {
			t.Errorf("%s: in flight %d after the release, want 0", name, in())
		}
	}
	unbounded := newLimiter(t, Config{})
	for range 10 {
		r, err := unbounded.AdmitProxied()
		if err != nil {
			t.Fatal(err)
		}
		r()
	}
	if unbounded.ProxyInFlight() != 0 {
		t.Errorf("an unbounded pool counted %d", unbounded.ProxyInFlight())
	}
}

// TestShedAppliesToProxied: while the node sheds for queueing delay (the
// CPU is shared), proxied requests are shed too, counted as queue_delay,
// and take no place.
func TestShedAppliesToProxied(t *testing.T) {
	l := newLimiter(t, Config{ProxyMaxInFlight: 8, MaxQueueDelay: 1})
	l.shedP.Store(math.Float64bits(1))
	for range 10 {
		_, err := l.AdmitProxied()
		overloaded(t, "a proxied request while shedding everything", err)
	}
	if s := l.Stats(); s.Shed != 10 || s.ProxyOverloaded != 0 || s.ProxyInFlight != 0 {
		t.Errorf("stats while shedding: %+v", s)
	}
}

// TestAdmitProxiedConcurrent: many goroutines admitting into both pools at
// once never have more than each bound in flight, and every pool is back
// to 0 at the end (each place released once).
func TestAdmitProxiedConcurrent(t *testing.T) {
	const apiBound, proxyBound, workers, each = 5, 3, 16, 1000
	l := newLimiter(t, Config{MaxInFlight: apiBound, ProxyMaxInFlight: proxyBound})
	var cur, peak [2]atomic.Int64
	var wg sync.WaitGroup
	for w := range workers {
		k := w % 2
		admit := []func() (func(), error){l.AdmitRequest, l.AdmitProxied}[k]
		wg.Go(func() {
			for range each {
				release, err := admit()
				if err != nil {
					continue
				}
				n := cur[k].Add(1)
				for p := peak[k].Load(); n > p && !peak[k].CompareAndSwap(p, n); p = peak[k].Load() {
				}
				runtime.Gosched()
				cur[k].Add(-1)
				release()
			}
		})
	}
	wg.Wait()
	if peak[0].Load() > apiBound || peak[1].Load() > proxyBound {
		t.Errorf("peaks in flight: API %d (bound %d), proxied %d (bound %d)", peak[0].Load(), apiBound, peak[1].Load(), proxyBound)
	}
	if l.InFlight() != 0 || l.ProxyInFlight() != 0 {
		t.Errorf("in flight at the end: API %d, proxied %d", l.InFlight(), l.ProxyInFlight())
	}
}

// TestAdmitProxiedNoAllocations: admitting, refusing and releasing a
// proxied request allocates nothing, like the API's (refusals are what
// an attack is made of).
func TestAdmitProxiedNoAllocations(t *testing.T) {
	skipIfRace(t)
	l := newLimiter(t, Config{MaxInFlight: 1, ProxyMaxInFlight: 1})
	var nilL *Limiter
	for name, f := range map[string]func(){
		"admit":    func() { r, _ := l.AdmitProxied(); r() },
		"overload": func() { r, _ := l.AdmitProxied(); _, _ = l.AdmitProxied(); r() },
		"nil":      func() { r, _ := nilL.AdmitProxied(); r() },
	} {
		if a := testing.AllocsPerRun(1000, f); a != 0 {
			t.Errorf("%s: %.1f allocations", name, a)
		}
	}
}

// TestCollectorProxyPool: the proxy's pool is exported apart from the
// API's: attestd_limit_proxy_in_flight, attestd_limit_proxy_max_in_flight
// and attestd_limit_refused_total{limit="proxy_in_flight"}, while
// attestd_limit_in_flight keeps counting the API's requests only.
func TestCollectorProxyPool(t *testing.T) {
	l := newLimiter(t, Config{MaxInFlight: 4, ProxyMaxInFlight: 2})
	for range 2 {
		if _, err := l.AdmitProxied(); err != nil {
			t.Fatal(err)
		}
	}
	_, _ = l.AdmitProxied()
	_, _ = l.AdmitProxied()
	if _, err := l.AdmitRequest(); err != nil {
		t.Fatal(err)
	}
	expectMetrics(t, l, map[string]float64{
		"attestd_limit_proxy_in_flight":                      2,
		"attestd_limit_proxy_max_in_flight":                  2,
		"attestd_limit_refused_total{limit=proxy_in_flight}": 2,
		"attestd_limit_in_flight":                            1,
		"attestd_limit_max_in_flight":                        4,
		"attestd_limit_refused_total{limit=in_flight}":       0,
	})
}

func BenchmarkAdmitProxied(b *testing.B) {
	l := newLimiter(b, Config{MaxInFlight: 1 << 20, ProxyMaxInFlight: 1 << 20})
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			r, _ := l.AdmitProxied()
			r()
		}
	})
}

// gather is what l's collector exports, by name{label=value}.
func gather(t *testing.T, l *Limiter) map[string]float64 {
	t.Helper()
	reg := prometheus.NewRegistry()
	reg.MustRegister(l.Collector())
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			name := mf.GetName()
			for _, lp := range m.GetLabel() {
				name += "{" + lp.GetName() + "=" + lp.GetValue() + "}"
			}
			switch {
			case m.GetGauge() != nil:
				got[name] = m.GetGauge().GetValue()
			case m.GetCounter() != nil:
				got[name] = m.GetCounter().GetValue()
			}
		}
	}
	return got
}

// expectMetrics checks that l's collector exports each of want
// (name{label=value} → value).
func expectMetrics(t *testing.T, l *Limiter, want map[string]float64) {
	t.Helper()
	got := gather(t, l)
	for name, w := range want {
		if v, ok := got[name]; !ok || v != w {
			t.Errorf("%s = %v (exported %v), want %v", name, v, ok, w)
		}
	}
}
