package metrics

import (
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/attestd/attestd/internal/api"
	"github.com/attestd/attestd/internal/apierr"
	"github.com/attestd/attestd/internal/attest"
	"github.com/attestd/attestd/internal/proxy"
	"github.com/attestd/attestd/verify/playintegrity"
)

// prevMetrics is the observer as it was before the closed sets (fixed.go):
// every series through a sync.Map. It is the reference the exposition is
// compared with, and the cost BenchmarkRequest compares with.
type prevMetrics struct {
	reg          *prometheus.Registry
	requests     *prometheus.CounterVec
	latency      *prometheus.HistogramVec
	failures     *prometheus.CounterVec
	reqSeries    sync.Map
	latSeries    sync.Map
	reasonSeries sync.Map
}

func newPrev() *prevMetrics {
	p := &prevMetrics{reg: prometheus.NewRegistry()}
	p.requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "attestd_requests_total", Help: "Requests answered, by endpoint and HTTP status.",
	}, []string{"endpoint", "status", "code"})
	p.latency = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "attestd_request_duration_seconds", Help: "Time to answer a request, by endpoint.", Buckets: latencyBuckets,
	}, []string{"endpoint"})
	p.failures = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "attestd_verdict_failures_total", Help: "Failure reasons of failed verdicts (one verdict may count under several), by the app's enforcement mode.",
	}, []string{"reason", "mode"})
	p.reg.MustRegister(p.requests, p.latency, p.failures)
	return p
}

func (m *prevMetrics) Request(endpoint string, status int, code apierr.Code, d time.Duration) {
	k := requestKey{endpoint, status, code}
	c, ok := m.reqSeries.Load(k)
	if !ok {
		c, _ = m.reqSeries.LoadOrStore(k, m.requests.WithLabelValues(endpoint, strconv.Itoa(status), string(code)))
	}
	c.(prometheus.Counter).Inc()
	o, ok := m.latSeries.Load(endpoint)
	if !ok {
		o, _ = m.latSeries.LoadOrStore(endpoint, m.latency.WithLabelValues(endpoint))
	}
	o.(prometheus.Observer).Observe(d.Seconds())
}

func (m *prevMetrics) Verdict(o attest.Outcome) {
	if o.Passed {
		return
	}
	mode := "enforce"
	if o.Monitor {
		mode = "monitor"
	}
	for _, r := range o.Reasons {
		k := [2]string{r, mode}
		c, ok := m.reasonSeries.Load(k)
		if !ok {
			c, _ = m.reasonSeries.LoadOrStore(k, m.failures.WithLabelValues(r, mode))
		}
		c.(prometheus.Counter).Inc()
	}
}

func failed(reasons []string) attest.Outcome { return attest.Outcome{Reasons: reasons} }

func monitorFailed(reasons []string) attest.Outcome {
	return attest.Outcome{Reasons: reasons, Monitor: true}
}

var passed = attest.Outcome{Passed: true}

// scrape is the text exposition's lines of the per-request families,
// sorted.
func scrape(t *testing.T, reg *prometheus.Registry) []string {
	t.Helper()
	w := httptest.NewRecorder()
	promhttp.HandlerFor(reg, promhttp.HandlerOpts{}).ServeHTTP(w, httptest.NewRequest("GET", "/metrics", nil))
	var out []string
	for _, l := range strings.Split(w.Body.String(), "\n") {
		for _, f := range []string{"attestd_requests_total", "attestd_request_duration_seconds", "attestd_verdict_failures_total"} {
			if strings.HasPrefix(l, f) || strings.HasPrefix(l, "# HELP "+f) || strings.HasPrefix(l, "# TYPE "+f) {
				out = append(out, l)
				break
			}
		}
	}
	slices.Sort(out)
	return out
}

type call struct {
	endpoint string
	status   int
	code     apierr.Code
	d        time.Duration
}

// calls covers every endpoint with every code at its own status, and
// values outside the closed sets: an upstream's status through the
// proxy, an unknown endpoint, a code at another status, an unknown code.
func calls() []call {
	var cs []call
	d := time.Microsecond
	for _, e := range endpointNames {
		for i, c := range codeNames {
			cs = append(cs, call{e, codeStatus[i], c, d})
			d = d*3/2 + time.Microsecond
		}
	}
	return append(cs,
		call{proxy.Endpoint, 404, "", 7 * time.Millisecond},
		call{proxy.Endpoint, 201, "", 8 * time.Millisecond},
		call{"elsewhere", 200, "", 9 * time.Millisecond},
		call{"elsewhere", 500, apierr.Internal, 10 * time.Millisecond},
		call{api.EndpointChallenge, 500, apierr.Overloaded, 11 * time.Millisecond},
		call{api.EndpointAttest, 418, "teapot", 12 * time.Millisecond},
		call{api.EndpointChallenge, 200, "", 13 * time.Millisecond},
	)
}

var verdicts = [][]string{
	{attest.ReasonRooted},
	{attest.ReasonPAInvalid, "platform_unsupported"},
	{attest.ReasonAppUnknown, attest.ReasonDeviceBanned, attest.ReasonRooted},
	{"some_precise_reason"},
	nil,
}

// TestSameExposition: the closed sets change no series, name, label or
// value: the exposition is the previous implementation's, series appear
// only once observed, and values outside the sets are counted too.
func TestSameExposition(t *testing.T) {
	m, p := New(nil, nil), newPrev()
	if got, want := scrape(t, m.reg), scrape(t, p.reg); !slices.Equal(got, want) {
		t.Fatalf("before any request:\n got %q\nwant %q", got, want)
	}
	m.Request(api.EndpointChallenge, 200, "", time.Millisecond)
	p.Request(api.EndpointChallenge, 200, "", time.Millisecond)
	if got, want := scrape(t, m.reg), scrape(t, p.reg); !slices.Equal(got, want) {
		t.Fatalf("after one challenge:\n got %q\nwant %q", got, want)
	}
	for range 3 {
		for _, c := range calls() {
			m.Request(c.endpoint, c.status, c.code, c.d)
			p.Request(c.endpoint, c.status, c.code, c.d)
		}
		for i, v := range verdicts {
			o := failed(v)
			if i%2 == 1 {
				o = monitorFailed(v)
			}
			m.Verdict(o)
			p.Verdict(o)
		}
		m.Verdict(passed)
	}
	got, want := scrape(t, m.reg), scrape(t, p.reg)
	for _, l := range got {
		if !slices.Contains(want, l) {
			t.Errorf("unexpected %s", l)
		}
	}
	for _, l := range want {
		if !slices.Contains(got, l) {
			t.Errorf("missing %s", l)
		}
	}
	for _, l := range []string{
		`attestd_requests_total{code="",endpoint="proxy",status="404"} 3`,
		`attestd_requests_total{code="overloaded",endpoint="challenge",status="500"} 3`,
		`attestd_requests_total{code="",endpoint="challenge",status="200"} 7`,
		`attestd_request_duration_seconds_count{endpoint="elsewhere"} 6`,
		`attestd_verdict_failures_total{mode="enforce",reason="rooted"} 6`,
		`attestd_verdict_failures_total{mode="monitor",reason="platform_unsupported"} 3`,
	} {
		if !slices.Contains(got, l) {
			t.Errorf("exposition lacks %s", l)
		}
	}
}

// TestClosedSets: the sets index themselves, and hold the names the
// router, the proxy, apierr and the core use.
func TestClosedSets(t *testing.T) {
	for i, e := range endpointNames {
		if endpointIndex(e) != i {
			t.Errorf("endpointIndex(%q) = %d, want %d", e, endpointIndex(e), i)
		}
	}
	for _, e := range []string{api.EndpointChallenge, api.EndpointAttest, api.EndpointJWKS, api.EndpointOther, proxy.Endpoint} {
		if endpointIndex(e) < 0 {
			t.Errorf("endpoint %q outside the closed set", e)
		}
	}
	for i, c := range codeNames {
		if codeIndex(c) != i {
			t.Errorf("codeIndex(%q) = %d, want %d", c, codeIndex(c), i)
		}
	}
	for _, e := range apierr.Errors() {
		i := codeIndex(e.Code)
		if i < 0 || codeStatus[i] != e.Status || codeNames[i] != e.Code {
			t.Errorf("code %q (status %d) outside the closed set", e.Code, e.Status)
		}
	}
	for i, r := range reasonNames {
		if reasonIndex(r) != i {
			t.Errorf("reasonIndex(%q) = %d, want %d", r, reasonIndex(r), i)
		}
	}
	if endpointIndex("elsewhere") >= 0 || codeIndex("teapot") >= 0 || reasonIndex("platform_unsupported") >= 0 {
		t.Error("a value outside the sets indexes them")
	}
	for _, r := range playintegrity.Reasons {
		if reasonIndex(r) < 0 {
			t.Errorf("Play Integrity reason %q outside the closed set", r)
		}
	}
}

// TestConcurrentFirstUse: callers racing to resolve a series count into
// the same one.
func TestConcurrentFirstUse(t *testing.T) {
	m := New(nil, nil)
	const g, n = 8, 200
	var wg sync.WaitGroup
	for range g {
		wg.Go(func() {
			for range n {
				m.Request(api.EndpointAttest, 401, apierr.NonceExpired, time.Microsecond)
				m.Request(proxy.Endpoint, 404, "", time.Microsecond)
				m.Verdict(failed([]string{attest.ReasonHooked, "precise"}))
			}
		})
	}
	wg.Wait()
	got := scrape(t, m.reg)
	for _, l := range []string{
		`attestd_requests_total{code="nonce_expired",endpoint="attest",status="401"} 1600`,
		`attestd_requests_total{code="",endpoint="proxy",status="404"} 1600`,
		`attestd_request_duration_seconds_count{endpoint="attest"} 1600`,
		`attestd_verdict_failures_total{mode="enforce",reason="hooked"} 1600`,
		`attestd_verdict_failures_total{mode="enforce",reason="precise"} 1600`,
	} {
		if !slices.Contains(got, l) {
			t.Errorf("exposition lacks %s:\n%q", l, got)
		}
	}
}

// TestNoAllocs: observing a request or a verdict allocates nothing once
// its series exist.
func TestNoAllocs(t *testing.T) {
	skipIfRace(t)
	m := New(nil, nil)
	fail := []string{attest.ReasonRooted, "platform_unsupported"}
	for _, c := range []struct {
		name string
		f    func()
	}{
		{"challenge", func() { m.Request(api.EndpointChallenge, 200, "", time.Microsecond) }},
		{"attest-refused", func() { m.Request(api.EndpointAttest, 401, apierr.NonceExpired, time.Microsecond) }},
		{"proxy-upstream-404", func() { m.Request(proxy.Endpoint, 404, "", time.Microsecond) }},
		{"verdict-fail", func() { m.Verdict(failed(fail)) }},
		{"verdict-fail-monitor", func() { m.Verdict(monitorFailed(fail)) }},
		{"verdict-pass", func() { m.Verdict(passed) }},
		{"verdict-debug", func() {
			m.Verdict(attest.Outcome{Passed: true, Monitor: true, Debug: attest.DebugAccepted, DebugName: "ci", App: "a", Device: "d"})
		}},
		{"challenge-issued", m.Challenge},
	} {
		c.f()
		if a := testing.AllocsPerRun(1000, c.f); a != 0 {
			t.Errorf("%s: %v allocations per call, want 0", c.name, a)
		}
	}
}

// BenchmarkRequest compares the observer of one challenge answered (the
// fast path) with the previous implementation's (prev).
func BenchmarkRequest(b *testing.B) {
	type observer interface {
		Request(string, int, apierr.Code, time.Duration)
	}
	for _, c := range []struct {
		name string
		o    observer
	}{{"fixed", New(nil, nil)}, {"prev", newPrev()}} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				c.o.Request(api.EndpointChallenge, 200, "", 40*time.Microsecond)
			}
		})
		b.Run(c.name+"-parallel", func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					c.o.Request(api.EndpointChallenge, 200, "", 40*time.Microsecond)
				}
			})
		})
	}
}

// TestVerdictsByModeAndDebugOutcome: what monitor mode would refuse is
// counted apart from what enforcement refuses (PROTOCOL.md §11), every
// debug token use by its outcome, and the series of both exist before
// anything is observed so that dashboards show zeros rather than gaps;
// no app, device or debug token name becomes a label.
func TestVerdictsByModeAndDebugOutcome(t *testing.T) {
	m := New(nil, nil)
	w := httptest.NewRecorder()
	promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{}).ServeHTTP(w, httptest.NewRequest("GET", "/metrics", nil))
	for _, l := range []string{
		`attestd_verdicts_total{mode="monitor",result="fail"} 0`, `attestd_verdicts_total{mode="enforce",result="pass"} 0`,
		`attestd_debug_token_uses_total{outcome="accepted"} 0`, `attestd_debug_token_uses_total{outcome="other_app"} 0`,
	} {
		if !strings.Contains(w.Body.String(), l) {
			t.Errorf("a fresh node lacks %s", l)
		}
	}
	m.Verdict(monitorFailed([]string{attest.ReasonRooted, attest.ReasonHooked}))
	m.Verdict(monitorFailed([]string{attest.ReasonRooted}))
	m.Verdict(attest.Outcome{Passed: true, Monitor: true})
	m.Verdict(failed([]string{attest.ReasonRooted}))
	m.Verdict(attest.Outcome{Passed: true, Debug: attest.DebugAccepted, DebugName: "ci-runner", App: "com.secret.app", Device: "did-xyz"})
	m.Verdict(attest.Outcome{Reasons: []string{attest.ReasonDebugTokenInvalid}, Debug: attest.DebugExpired, DebugName: "old"})
	m.Verdict(attest.Outcome{Reasons: []string{attest.ReasonAppUnknown}, Debug: attest.DebugOtherApp})
	w = httptest.NewRecorder()
	promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{}).ServeHTTP(w, httptest.NewRequest("GET", "/metrics", nil))
	body := w.Body.String()
	for _, l := range []string{
		`attestd_verdict_failures_total{mode="monitor",reason="rooted"} 2`,
		`attestd_verdict_failures_total{mode="monitor",reason="hooked"} 1`,
		`attestd_verdict_failures_total{mode="enforce",reason="rooted"} 1`,
		`attestd_verdict_failures_total{mode="enforce",reason="debug_token_invalid"} 1`,
		`attestd_verdicts_total{mode="monitor",result="fail"} 2`,
		`attestd_verdicts_total{mode="monitor",result="pass"} 1`,
		`attestd_verdicts_total{mode="enforce",result="pass"} 1`,
		`attestd_debug_token_uses_total{outcome="accepted"} 1`,
		`attestd_debug_token_uses_total{outcome="expired"} 1`,
		`attestd_debug_token_uses_total{outcome="other_app"} 1`,
		`attestd_debug_token_uses_total{outcome="unknown"} 0`,
	} {
		if !strings.Contains(body, l) {
			t.Errorf("exposition lacks %s", l)
		}
	}
	for _, leak := range []string{"ci-runner", "com.secret.app", "did-xyz", `outcome="none"`} {
		if strings.Contains(body, leak) {
			t.Errorf("%q is in the metrics", leak)
		}
	}
}

// TestEveryPublicCodeHasItsSeries: every error apierr can answer with,
// counted at its own status, takes the fixed path (its series is kept in
// the array, not the map) and is exposed with its code and status.
func TestEveryPublicCodeHasItsSeries(t *testing.T) {
	m := New(nil, nil)
	e := endpointIndex(api.EndpointAttest)
	for _, pub := range apierr.Errors() {
		m.Request(api.EndpointAttest, pub.Status, pub.Code, time.Millisecond)
		c := codeIndex(pub.Code)
		if c < 0 || m.reqFixed[e][c].Load() == nil {
			t.Errorf("code %q: no fixed series", pub.Code)
		}
	}
	if n := countMap(&m.reqSeries); n != 0 {
		t.Errorf("%d public codes went through the map", n)
	}
	got := scrape(t, m.reg)
	for _, pub := range apierr.Errors() {
		l := `attestd_requests_total{code="` + string(pub.Code) + `",endpoint="attest",status="` + strconv.Itoa(pub.Status) + `"} 1`
		if !slices.Contains(got, l) {
			t.Errorf("exposition lacks %s", l)
		}
	}
}

func countMap(m *sync.Map) int {
	n := 0
	m.Range(func(any, any) bool { n++; return true })
	return n
}

// BenchmarkRequestRefused is BenchmarkRequest for a refusal (the path a
// flood of rate_limited answers takes): the code's fixed series is found
// from apierr's table.
func BenchmarkRequestRefused(b *testing.B) {
	m := New(nil, nil)
	b.ReportAllocs()
	for b.Loop() {
		m.Request(api.EndpointAttest, 429, apierr.RateLimited, 40*time.Microsecond)
	}
}
