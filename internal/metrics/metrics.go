// Package metrics holds the edge's Prometheus metrics (all named attestd_*)
// and implements the observers of the core (attest.Observer) and of the
// router (api.Observer). Labels are low-cardinality: endpoints, status
// codes, verdict reasons; never an app id, a device or a key.
//
// Only packages of this module import it. A *Metrics is safe for
// concurrent use.
package metrics

import (
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/attestd/attestd/cache"
	"github.com/attestd/attestd/internal/apierr"
	"github.com/attestd/attestd/internal/attest"
)

// Metrics is the edge's metric set, registered on its own registry.
type Metrics struct {
	reg          *prometheus.Registry
	requests     *prometheus.CounterVec
	latency      *prometheus.HistogramVec
	verdicts     *prometheus.CounterVec
	failures     *prometheus.CounterVec
	challenges   prometheus.Counter
	debugUses    *prometheus.CounterVec
	passed       [numModes]prometheus.Counter
	failed       [numModes]prometheus.Counter
	debugFixed   [attest.NumDebugOutcomes]prometheus.Counter
	storeRev     prometheus.Gauge
	storeErrs    prometheus.Counter
	ready        prometheus.Gauge
	panics       *prometheus.CounterVec
	proxyBodies  *prometheus.CounterVec
	lastSync     atomic.Int64 // unix nanoseconds
	reqSeries    sync.Map     // requestKey → prometheus.Counter, outside the closed sets
	latSeries    sync.Map     // endpoint → prometheus.Observer, outside the closed sets
	reasonSeries sync.Map     // reasonKey → prometheus.Counter, outside the closed sets
	contact      atomic.Pointer[func() time.Time]
	now          func() time.Time

	// The series of the closed label sets (fixed.go), resolved on first
	// use: a series appears once observed, as with WithLabelValues. Values
	// outside the sets (a proxied upstream's status, a platform checker's
	// precise reason) go through the maps above.
	reqFixed    [numEndpoints][numCodes]atomic.Pointer[prometheus.Counter]
	latFixed    [numEndpoints]atomic.Pointer[prometheus.Observer]
	reasonFixed [numModes][numReasons]atomic.Pointer[prometheus.Counter]
}

// Enforcement modes, as the mode label of the verdict series (PROTOCOL.md
// §11): what monitor mode counts is what enforcing would refuse.
const (
	modeEnforce = iota
	modeMonitor
	numModes
)

var modeNames = [numModes]string{"enforce", "monitor"}

func modeOf(monitor bool) int {
	if monitor {
		return modeMonitor
	}
	return modeEnforce
}

// reasonKey names one attestd_verdict_failures_total series outside the
// closed set of reasons.
type reasonKey struct {
	reason string
	mode   int
}

// LatencyBuckets spans 5 µs to ~330 ms: attest work is tens of µs, a cold
// account compile or a slow client a few ms.
var latencyBuckets = prometheus.ExponentialBuckets(5e-6, 2, 17)

// CacheSource reports the registry caches' counters.
type CacheSource func() (apps, accounts cache.Stats)

// New registers the metrics. caches may be nil.
func New(now func() time.Time, caches CacheSource) *Metrics {
	if now == nil {
		now = time.Now
	}
	m := &Metrics{reg: prometheus.NewRegistry(), now: now}
	f := func(c prometheus.Collector) { m.reg.MustRegister(c) }
	m.requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "attestd_requests_total", Help: "Requests answered, by endpoint and HTTP status.",
	}, []string{"endpoint", "status", "code"})
	m.latency = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "attestd_request_duration_seconds", Help: "Time to answer a request, by endpoint.", Buckets: latencyBuckets,
	}, []string{"endpoint"})
	m.verdicts = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "attestd_verdicts_total", Help: "Attestation verdicts, by result (pass or fail) and the app's enforcement mode (enforce or monitor: a monitor-mode failure is what enforcing would refuse).",
	}, []string{"result", "mode"})
	m.failures = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "attestd_verdict_failures_total", Help: "Failure reasons of failed verdicts (one verdict may count under several), by the app's enforcement mode.",
	}, []string{"reason", "mode"})
	m.debugUses = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "attestd_debug_token_uses_total", Help: "Attests that carried a debug token, by outcome (accepted, unknown, expired, other_app).",
	}, []string{"outcome"})
	m.challenges = prometheus.NewCounter(prometheus.CounterOpts{Name: "attestd_challenges_total", Help: "Nonces issued."})
	m.storeRev = prometheus.NewGauge(prometheus.GaugeOpts{Name: "attestd_store_revision", Help: "Revision of the store snapshot being served."})
	m.storeErrs = prometheus.NewCounter(prometheus.CounterOpts{Name: "attestd_store_errors_total", Help: "Failed store reads, watches and snapshot installs."})
	m.ready = prometheus.NewGauge(prometheus.GaugeOpts{Name: "attestd_ready", Help: "1 when the node serves (store loaded, not draining)."})
	m.panics = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "attestd_panics_total", Help: "Request handlers that panicked, by transport (http1, http3): each was answered 500 internal and logged with its stack; the node kept serving.",
	}, []string{"transport"})
	m.proxyBodies = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "attestd_proxy_answer_bodies_total", Help: "Proxied answer bodies the secret scrubbing acted on, by outcome: masked (held the API's secret, masked), unsearchable (a Content-Encoding the proxy cannot decode: refused 502), decoded_too_large (decoded past the limit: cut off).",
	}, []string{"outcome"})
	for i, mode := range modeNames {
		m.passed[i] = m.verdicts.WithLabelValues("pass", mode)
		m.failed[i] = m.verdicts.WithLabelValues("fail", mode)
	}
	for o := attest.DebugAccepted; o < attest.NumDebugOutcomes; o++ {
		m.debugFixed[o] = m.debugUses.WithLabelValues(o.String())
	}
	for _, c := range []prometheus.Collector{m.requests, m.latency, m.verdicts, m.failures, m.challenges, m.debugUses,
		m.storeRev, m.storeErrs, m.ready, m.panics, m.proxyBodies,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{})} {
		f(c)
	}
	for _, c := range m.storeTimes() {
		f(c)
	}
	if caches != nil {
		f(&cacheCollector{src: caches, desc: prometheus.NewDesc("attestd_cache_lookups_total",
			"Registry cache lookups, by cache and result (hit, miss).", []string{"cache", "result"}, nil)})
	}
	return m
}

// storeTimes are the two gauges of when the store last confirmed the data
// served current (LastSync): its time, and its age. Both read the same
// clock at scrape time, so they always agree.
func (m *Metrics) storeTimes() []prometheus.Collector {
	return []prometheus.Collector{
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "attestd_store_last_sync_timestamp_seconds",
			Help: "Unix time the store last confirmed the data served current: a file store's last poll that read the state file or found it unchanged, etcd's last event or progress notification; a snapshot installed counts only where the store reports no confirmations of its own (0: not yet).",
		}, func() float64 {
			if last := m.LastSync(); !last.IsZero() {
				return float64(last.UnixNano()) / 1e9
			}
			return 0
		}),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "attestd_store_sync_age_seconds",
			Help: "Seconds since the store last confirmed the data served current (age of the data served; see attestd_store_last_sync_timestamp_seconds).",
		}, func() float64 {
			if last := m.LastSync(); !last.IsZero() {
				return m.now().Sub(last).Seconds()
			}
			return 0
		}),
	}
}

// LastSync is when the store last confirmed the data served current: the
// store's own word when it reports one (SetContactSource), else the last
// snapshot installed (StoreSynced). Zero before the first.
func (m *Metrics) LastSync() time.Time {
	if src := m.contact.Load(); src != nil {
		return (*src)()
	}
	if ns := m.lastSync.Load(); ns != 0 {
		return time.Unix(0, ns)
	}
	return time.Time{}
}

// Handler serves the metrics in the Prometheus exposition format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// Registry exposes the registry (for extra collectors of other components).
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// requestKey names one attestd_requests_total series outside the closed
// sets of fixed.go.
type requestKey struct {
	endpoint string
	status   int
	code     apierr.Code
}

// Request implements api.Observer. The series are resolved once and kept:
// WithLabelValues hashes every label on every call, which was a third of a
// challenge's time. An endpoint, and a code with its own status (200 for
// none), of the closed sets index an array; only other values (a proxied
// upstream's status) go through a map.
func (m *Metrics) Request(endpoint string, status int, code apierr.Code, d time.Duration) {
	e := endpointIndex(endpoint)
	if e < 0 {
		m.requestOther(endpoint, status, code, d)
		return
	}
	if c := codeIndex(code); c >= 0 && codeStatus[c] == status {
		if p := m.reqFixed[e][c].Load(); p != nil {
			(*p).Inc()
		} else {
			m.resolveRequest(e, c).Inc()
		}
	} else {
		m.requestCounter(endpoint, status, code).Inc()
	}
	if p := m.latFixed[e].Load(); p != nil {
		(*p).Observe(d.Seconds())
	} else {
		m.resolveLatency(e).Observe(d.Seconds())
	}
}

// resolveRequest makes the series of endpointNames[e] and codeNames[c]. Racing
// callers get the same child of the vector, so either store will do.
func (m *Metrics) resolveRequest(e, c int) prometheus.Counter {
	cnt := m.requests.WithLabelValues(endpointNames[e], strconv.Itoa(codeStatus[c]), string(codeNames[c]))
	m.reqFixed[e][c].Store(&cnt)
	return cnt
}

func (m *Metrics) resolveLatency(e int) prometheus.Observer {
	o := m.latency.WithLabelValues(endpointNames[e])
	m.latFixed[e].Store(&o)
	return o
}

func (m *Metrics) resolveReason(mode, r int) prometheus.Counter {
	c := m.failures.WithLabelValues(reasonNames[r], modeNames[mode])
	m.reasonFixed[mode][r].Store(&c)
	return c
}

// requestOther counts a request of an endpoint outside the closed set.
func (m *Metrics) requestOther(endpoint string, status int, code apierr.Code, d time.Duration) {
	m.requestCounter(endpoint, status, code).Inc()
	o, ok := m.latSeries.Load(endpoint)
	if !ok {
		o, _ = m.latSeries.LoadOrStore(endpoint, m.latency.WithLabelValues(endpoint))
	}
	o.(prometheus.Observer).Observe(d.Seconds())
}

func (m *Metrics) requestCounter(endpoint string, status int, code apierr.Code) prometheus.Counter {
	k := requestKey{endpoint, status, code}
	c, ok := m.reqSeries.Load(k)
	if !ok {
		c, _ = m.reqSeries.LoadOrStore(k, m.requests.WithLabelValues(endpoint, strconv.Itoa(status), string(code)))
	}
	return c.(prometheus.Counter)
}

// Verdict implements attest.Observer: the verdict by result and mode, a
// failure's reasons by mode, and the outcome of a debug token. App, device
// and debug token names are never labels.
func (m *Metrics) Verdict(o attest.Outcome) {
	if o.Debug != attest.DebugNone && o.Debug < attest.NumDebugOutcomes {
		m.debugFixed[o.Debug].Inc()
	}
	mode := modeOf(o.Monitor)
	if o.Passed {
		m.passed[mode].Inc()
		return
	}
	m.failed[mode].Inc()
	for _, r := range o.Reasons {
		if i := reasonIndex(r); i >= 0 {
			if p := m.reasonFixed[mode][i].Load(); p != nil {
				(*p).Inc()
			} else {
				m.resolveReason(mode, i).Inc()
			}
			continue
		}
		k := reasonKey{r, mode} // a precise reason of a platform checker
		c, ok := m.reasonSeries.Load(k)
		if !ok {
			c, _ = m.reasonSeries.LoadOrStore(k, m.failures.WithLabelValues(r, modeNames[mode]))
		}
		c.(prometheus.Counter).Inc()
	}
}

// Challenge implements attest.Observer.
func (m *Metrics) Challenge() { m.challenges.Inc() }

// StoreSynced records that the snapshot at revision rev is installed
// now: the data is current as of now, unless the store reports its own
// confirmations (SetContactSource).
func (m *Metrics) StoreSynced(rev int64) {
	m.lastSync.Store(m.now().UnixNano())
	m.storeRev.Set(float64(rev))
}

// SetContactSource makes LastSync (both gauges) follow a store's own
// record of when it last confirmed the data current (store.Health's
// LastContact: each file store poll, each etcd event or progress
// notification), instead of the last snapshot installed.
func (m *Metrics) SetContactSource(f func() time.Time) { m.contact.Store(&f) }

// Panics is the counter of request handlers that panicked on transport;
// asking for it makes its series (at 0, so that an alert on its increase
// sees the first).
func (m *Metrics) Panics(transport string) prometheus.Counter {
	return m.panics.WithLabelValues(transport)
}

// StoreError counts a failed store operation.
func (m *Metrics) StoreError() { m.storeErrs.Inc() }

// ProxyAnswer counts what the proxy's body scrubbing did to an answer
// (proxy.AnswerObserver; outcome is one of the proxy.Answer* constants, a
// closed set).
func (m *Metrics) ProxyAnswer(outcome string) { m.proxyBodies.WithLabelValues(outcome).Inc() }

// SetReady records readiness.
func (m *Metrics) SetReady(ready bool) {
	if ready {
		m.ready.Set(1)
	} else {
		m.ready.Set(0)
	}
}

type cacheCollector struct {
	src  CacheSource
	desc *prometheus.Desc
}

func (c *cacheCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c *cacheCollector) Collect(ch chan<- prometheus.Metric) {
	apps, accounts := c.src()
	for _, s := range []struct {
		name string
		st   cache.Stats
	}{{"apps", apps}, {"accounts", accounts}} {
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.CounterValue, float64(s.st.Hits), s.name, "hit")
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.CounterValue, float64(s.st.Misses), s.name, "miss")
	}
}
