package limit

import (
	crand "crypto/rand"
	"errors"
	"math/rand/v2"
	"net/netip"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/attestd/attestd/internal/apierr"
)

var t0 = time.Unix(1_700_000_000, 0)

func newLimiter(t testing.TB, cfg Config) *Limiter {
	t.Helper()
	l, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// retryAfter returns the Retry-After of a rate_limited error, failing on
// any other error; 0 for nil.
func retryAfter(t *testing.T, err error) int {
	t.Helper()
	if err == nil {
		return 0
	}
	pub := apierr.From(err)
	if pub.Code != apierr.RateLimited || pub.Status != 429 {
		t.Fatalf("error %v: want rate_limited 429", err)
	}
	if pub.RetryAfter < 1 {
		t.Fatalf("rate_limited without Retry-After: %+v", pub)
	}
	return pub.RetryAfter
}

func TestConfigRefused(t *testing.T) {
	for name, cfg := range map[string]Config{
		"negative in-flight":  {MaxInFlight: -1},
		"negative rate":       {ChallengeRate: -1},
		"negative burst":      {AttestRate: 1, AttestBurst: -2},
		"NaN rate":            {AttestRate: nan()},
		"table too large":     {TableSize: 1 << 27},
		"ipv6 prefix too big": {IPv6Prefix: 129},
	} {
		if _, err := New(cfg); !errors.Is(err, ErrConfig) {
			t.Errorf("%s: New = %v, want ErrConfig", name, err)
		}
	}
}

func nan() float64 { var z float64; return z / z }

func TestNilAndZeroLimiterAdmitEverything(t *testing.T) {
	var nilL *Limiter
	zero := newLimiter(t, Config{})
	for _, l := range []*Limiter{nilL, zero} {
		for i := 0; i < 1000; i++ {
			release, err := l.AdmitRequest()
			if err != nil {
				t.Fatal(err)
			}
			release()
			if err := l.AllowChallenge(netip.MustParseAddr("192.0.2.1"), t0); err != nil {
				t.Fatal(err)
			}
			if err := l.AllowAttest(make([]byte, 65), t0); err != nil {
				t.Fatal(err)
			}
		}
	}
	if nilL.Stats() != (Stats{}) || nilL.InFlight() != 0 {
		t.Error("nil limiter has stats")
	}
}

func TestAdmitRequestBound(t *testing.T) {
	l := newLimiter(t, Config{MaxInFlight: 3})
	var releases []func()
	for i := 0; i < 3; i++ {
		r, err := l.AdmitRequest()
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		releases = append(releases, r)
	}
	_, err := l.AdmitRequest()
	pub := apierr.From(err)
	if pub == nil || pub.Code != apierr.Overloaded || pub.Status != 503 || pub.RetryAfter != 1 {
		t.Fatalf("4th request: %v, want overloaded 503 with Retry-After 1", err)
	}
	if got := l.InFlight(); got != 3 {
		t.Errorf("in flight %d after a refusal, want 3", got)
	}
	releases[0]()
	if _, err := l.AdmitRequest(); err != nil {
		t.Errorf("after a release: %v", err)
	}
	if s := l.Stats(); s.Overloaded != 1 || s.InFlight != 3 {
		t.Errorf("stats %+v", s)
	}
}

func TestAdmitRequestConcurrent(t *testing.T) {
	const bound, workers, each = 8, 32, 2000
	l := newLimiter(t, Config{MaxInFlight: bound})
	var cur, peak, admitted, refused atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				release, err := l.AdmitRequest()
				if err != nil {
					refused.Add(1)
					continue
				}
				admitted.Add(1)
				n := cur.Add(1)
				for {
					p := peak.Load()
					if n <= p || peak.CompareAndSwap(p, n) {
						break
					}
				}
				runtime.Gosched()
				cur.Add(-1)
				release()
			}
		}()
	}
	wg.Wait()
	if peak.Load() > bound {
		t.Errorf("%d requests in flight at once, bound %d", peak.Load(), bound)
	}
	if l.InFlight() != 0 {
		t.Errorf("in flight %d at the end, want 0", l.InFlight())
	}
	if admitted.Load()+refused.Load() != workers*each || uint64(refused.Load()) != l.Stats().Overloaded {
		t.Errorf("admitted %d + refused %d, stats %+v", admitted.Load(), refused.Load(), l.Stats())
	}
}

func TestChallengeBurstAndRefill(t *testing.T) {
	l := newLimiter(t, Config{ChallengeRate: 2, ChallengeBurst: 3})
	ip := netip.MustParseAddr("198.51.100.7")
	for i := 0; i < 3; i++ {
		if err := l.AllowChallenge(ip, t0); err != nil {
			t.Fatalf("challenge %d of the burst: %v", i, err)
		}
	}
	if ra := retryAfter(t, l.AllowChallenge(ip, t0)); ra != 1 {
		t.Errorf("Retry-After %d, want 1 (a token every 0.5 s)", ra)
	}
	if err := l.AllowChallenge(ip, t0.Add(499*time.Millisecond)); err == nil {
		t.Error("allowed before the next token")
	}
	if err := l.AllowChallenge(ip, t0.Add(500*time.Millisecond)); err != nil {
		t.Errorf("the refilled token: %v", err)
	}
	if err := l.AllowChallenge(ip, t0.Add(500*time.Millisecond)); err == nil {
		t.Error("two tokens after one interval")
	}
	// A long rest refills the burst, and no more than the burst.
	later := t0.Add(time.Hour)
	for i := 0; i < 3; i++ {
		if err := l.AllowChallenge(ip, later); err != nil {
			t.Fatalf("after a rest, challenge %d: %v", i, err)
		}
	}
	if l.AllowChallenge(ip, later) == nil {
		t.Error("a rest gave more than the burst")
	}
	// Other sources are unaffected.
	if err := l.AllowChallenge(netip.MustParseAddr("198.51.100.8"), later); err != nil {
		t.Errorf("another IP: %v", err)
	}
	if s := l.Stats(); s.ChallengeLimited != 4 {
		t.Errorf("ChallengeLimited %d, want 4", s.ChallengeLimited)
	}
}

func TestSustainedRate(t *testing.T) {
	// Offered 10/s for 100 s against 2/s burst 5: 2*100 + 5 pass.
	l := newLimiter(t, Config{AttestRate: 2, AttestBurst: 5})
	key := make([]byte, 65)
	passed := 0
	for i := 0; i < 1000; i++ {
		if l.AllowAttest(key, t0.Add(time.Duration(i)*100*time.Millisecond)) == nil {
			passed++
		}
	}
	if want := 2*100 + 5; passed < want-1 || passed > want {
		t.Errorf("%d passed, want about %d", passed, want)
	}
}

func TestRetryAfterValues(t *testing.T) {
	// One token every 10 s, burst 1.
	l := newLimiter(t, Config{AttestRate: 0.1, AttestBurst: 1})
	key := []byte("device-key-0123456789012345678901234567890123456789012345678901234")
	if err := l.AllowAttest(key, t0); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		after time.Duration
		want  int
	}{{0, 10}, {time.Second, 9}, {3500 * time.Millisecond, 7}, {9500 * time.Millisecond, 1}, {9999 * time.Millisecond, 1}} {
		if got := retryAfter(t, l.AllowAttest(key, t0.Add(tc.after))); got != tc.want {
			t.Errorf("%v after the first: Retry-After %d, want %d", tc.after, got, tc.want)
		}
	}
	if err := l.AllowAttest(key, t0.Add(10*time.Second)); err != nil {
		t.Errorf("at the next token: %v", err)
	}
	// A very slow rate caps Retry-After.
	slow := newLimiter(t, Config{AttestRate: 1e-6, AttestBurst: 1})
	_ = slow.AllowAttest(key, t0)
	if got := retryAfter(t, slow.AllowAttest(key, t0)); got != MaxRetryAfter {
		t.Errorf("Retry-After %d, want the cap %d", got, MaxRetryAfter)
	}
}

func TestSourceIdentity(t *testing.T) {
	l := newLimiter(t, Config{ChallengeRate: 1, ChallengeBurst: 1, AttestRate: 1, AttestBurst: 1})
	limited := func(ip string) bool { return l.AllowChallenge(netip.MustParseAddr(ip), t0) != nil }
	// One /64 is one client; the next /64 another.
	if limited("2001:db8:1:2::1") || !limited("2001:db8:1:2:ffff::9") {
		t.Error("two addresses of one /64 are not one source")
	}
	if limited("2001:db8:1:3::1") {
		t.Error("another /64 shares the bucket")
	}
	// An IPv4-mapped address is its IPv4 address; ::a.b.c.d is not.
	if limited("203.0.113.5") || !limited("::ffff:203.0.113.5") {
		t.Error("IPv4-mapped address is another source")
	}
	if limited("::203.0.113.6") || limited("203.0.113.6") {
		t.Error("::a.b.c.d and a.b.c.d share a bucket")
	}
	// A device key sent as SPKI is the same key as its point.
	point := make([]byte, 65)
	point[0] = 4
	crand.Read(point[1:])
	spki := append([]byte("0123456789012345678901234567"), point...) // a 26-byte prefix stand-in
	if l.AllowAttest(point, t0) != nil || l.AllowAttest(spki, t0) == nil {
		t.Error("the SPKI form of a key has its own bucket")
	}
}

func TestBoundedMemoryUnderRandomKeys(t *testing.T) {
	l := newLimiter(t, Config{ChallengeRate: 1, ChallengeBurst: 5, AttestRate: 1, AttestBurst: 5, TableSize: 4096})
	// A source at its limit before the flood.
	hot := netip.MustParseAddr("192.0.2.200")
	for l.AllowChallenge(hot, t0) == nil {
	}
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	rng := rand.New(rand.NewPCG(1, 2))
	key := make([]byte, 65)
	const flood = 500_000
	now := t0
	for i := 0; i < flood; i++ {
		var a [16]byte
		for j := range a {
			a[j] = byte(rng.Uint32())
		}
		now = t0.Add(time.Duration(i) * time.Microsecond) // the whole flood within 0.5 s
		_ = l.AllowChallenge(netip.AddrFrom16(a), now)
		for j := range key {
			key[j] = byte(rng.Uint32())
		}
		_ = l.AllowAttest(key, now)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	if grew := int64(after.HeapAlloc) - int64(before.HeapAlloc); grew > 256<<10 {
		t.Errorf("heap grew %d bytes over %d random sources; the tables must not grow", grew, flood)
	}
	s := l.Stats()
	if s.TableSize != 4096 || s.TableBytes != 2*4096*16 {
		t.Errorf("tables %d entries, %d bytes", s.TableSize, s.TableBytes)
	}
	if s.ChallengeEvicted == 0 || s.AttestEvicted == 0 {
		t.Errorf("no evictions counted after a flood over the table size: %+v", s)
	}
	// The flood does not reset the limited source: it holds the most debt
	// of its set, and sources that have one request's debt go first.
	if l.AllowChallenge(hot, now) == nil {
		t.Error("a flood of new sources freed a limited one")
	}
}

func TestConcurrentSameSource(t *testing.T) {
	// At one instant, exactly the burst passes, however many goroutines ask.
	const burst = 50
	l := newLimiter(t, Config{AttestRate: 1, AttestBurst: burst, ChallengeRate: 1, ChallengeBurst: burst})
	key := make([]byte, 65)
	ip := netip.MustParseAddr("192.0.2.9")
	var passed, passedIP atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < 16; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 500; i++ {
				if l.AllowAttest(key, t0) == nil {
					passed.Add(1)
				}
				if l.AllowChallenge(ip, t0) == nil {
					passedIP.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	if passed.Load() != burst || passedIP.Load() != burst {
		t.Errorf("%d attests and %d challenges passed at one instant, want the burst %d", passed.Load(), passedIP.Load(), burst)
	}
}

func TestConcurrentManySources(t *testing.T) {
	// Many goroutines on many sources, with time moving: no race, no
	// source ever passes more than its burst plus its rate allows.
	l := newLimiter(t, Config{AttestRate: 100, AttestBurst: 10, TableSize: 1 << 12})
	const sources, workers, each = 64, 8, 5000
	var passed [sources]atomic.Int64
	var clock atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			key := make([]byte, 65)
			for i := 0; i < each; i++ {
				src := (i*7 + w) % sources
				key[0] = byte(src)
				now := t0.Add(time.Duration(clock.Add(1)) * 10 * time.Microsecond)
				if l.AllowAttest(key, now) == nil {
					passed[src].Add(1)
				}
			}
		}(w)
	}
	wg.Wait()
	elapsed := time.Duration(clock.Load()) * 10 * time.Microsecond
	limit := int64(elapsed.Seconds()*100) + 10 + 1
	for i := range passed {
		if passed[i].Load() > limit {
			t.Errorf("source %d passed %d times in %v, at most %d allowed", i, passed[i].Load(), elapsed, limit)
		}
	}
}

func TestNoAllocations(t *testing.T) {
	skipIfRace(t)
	l := newLimiter(t, Config{MaxInFlight: 1, ChallengeRate: 1, ChallengeBurst: 1, AttestRate: 1, AttestBurst: 1})
	ip := netip.MustParseAddr("2001:db8::1")
	key := make([]byte, 91)
	for name, f := range map[string]func(){
		"admit":     func() { r, _ := l.AdmitRequest(); r() },
		"overload":  func() { r, _ := l.AdmitRequest(); _, _ = l.AdmitRequest(); r() },
		"challenge": func() { _ = l.AllowChallenge(ip, t0) },
		"attest":    func() { _ = l.AllowAttest(key, t0) },
	} {
		if a := testing.AllocsPerRun(1000, f); a != 0 {
			t.Errorf("%s: %.1f allocations", name, a)
		}
	}
}

func TestCollector(t *testing.T) {
	l := newLimiter(t, Config{MaxInFlight: 1, ChallengeRate: 5, ChallengeBurst: 10, TableSize: 128})
	r, _ := l.AdmitRequest()
	_, _ = l.AdmitRequest()
	r()
	reg := prometheus.NewRegistry()
	reg.MustRegister(l.Collector())
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	var refused float64
	for _, mf := range mfs {
		got[mf.GetName()] = true
		if mf.GetName() == "attestd_limit_refused_total" {
			for _, m := range mf.GetMetric() {
				if len(m.GetLabel()) == 1 && m.GetLabel()[0].GetValue() == "in_flight" {
					refused = m.GetCounter().GetValue()
				}
			}
		}
	}
	for _, n := range []string{"attestd_limit_in_flight", "attestd_limit_max_in_flight", "attestd_limit_refused_total",
		"attestd_limit_table_evictions_total", "attestd_limit_rate", "attestd_limit_burst", "attestd_limit_table_bytes"} {
		if !got[n] {
			t.Errorf("metric %s missing", n)
		}
	}
	if refused != 1 {
		t.Errorf("refused{limit=in_flight} = %v, want 1", refused)
	}
	nilReg := prometheus.NewRegistry()
	nilReg.MustRegister((*Limiter)(nil).Collector())
	if _, err := nilReg.Gather(); err != nil {
		t.Error(err)
	}
}

func BenchmarkAdmitRequest(b *testing.B) {
	l := newLimiter(b, Config{MaxInFlight: 1 << 20})
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			r, _ := l.AdmitRequest()
			r()
		}
	})
}

func BenchmarkAllowAttest(b *testing.B) {
	l := newLimiter(b, Config{AttestRate: 1e9, AttestBurst: 1})
	key := make([]byte, 65)
	now := t0
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		key[1] = byte(i)
		_ = l.AllowAttest(key, now)
	}
}

func BenchmarkAllowChallenge(b *testing.B) {
	l := newLimiter(b, Config{ChallengeRate: 1e9, ChallengeBurst: 1})
	ip := netip.MustParseAddr("192.0.2.1")
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		_ = l.AllowChallenge(ip, t0)
	}
}
