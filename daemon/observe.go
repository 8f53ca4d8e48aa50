package daemon

import (
	"context"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/attestd/attestd/internal/apierr"
	"github.com/attestd/attestd/internal/attest"
	"github.com/attestd/attestd/internal/metrics"
)

// transportMetrics counts requests per listener (the transport label is
// accesslog.TransportHTTP1 or TransportHTTP3). Each transport has its
// own api.Handler whose observer (transportObserver) feeds both the core
// metrics and this counter, so the core needs no transport label.
type transportMetrics struct {
	requests *prometheus.CounterVec
}

func newTransportMetrics(reg prometheus.Registerer) *transportMetrics {
	m := &transportMetrics{requests: prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "attestd_transport_requests_total",
		Help: "Requests answered on the public listeners, by transport (http1, http3), endpoint and HTTP status.",
	}, []string{"transport", "endpoint", "status"})}
	reg.MustRegister(m.requests)
	return m
}

// transportObserver implements api.Observer for one transport.
type transportObserver struct {
	core      *metrics.Metrics
	transport string
	requests  *prometheus.CounterVec
	// series caches the counter of each (endpoint, status) seen:
	// WithLabelValues hashes three labels, and formatting a status of
	// 100 or more allocates, on every request otherwise.
	series sync.Map // transportSeries → prometheus.Counter
}

type transportSeries struct {
	endpoint string
	status   int
}

func (m *transportMetrics) observer(core *metrics.Metrics, transport string) *transportObserver {
	return &transportObserver{core: core, transport: transport, requests: m.requests}
}

// Request implements api.Observer.
func (o *transportObserver) Request(endpoint string, status int, code apierr.Code, d time.Duration) {
	o.core.Request(endpoint, status, code, d)
	k := transportSeries{endpoint, status}
	c, ok := o.series.Load(k)
	if !ok {
		c, _ = o.series.LoadOrStore(k, o.requests.WithLabelValues(o.transport, endpoint, strconv.Itoa(status)))
	}
	c.(prometheus.Counter).Inc()
}

// verdictLog implements attest.RequestObserver: it passes every event to
// the metrics and logs one failed verdict in every N with its reasons
// (public reason codes only: never an app, a device or a key), and one
// refused attest in every N with its error code and cause; the others at
// debug level (N = 0: none). An attest that failed internally is logged
// by the router, not here. Every line is logged with the request's
// context, so it carries the request's request_id (withRequestID). N may
// change on reload.
//
// Debug tokens (PROTOCOL.md §11): every attest that brought a stored debug
// token (accepted, expired, or another app's) is logged at info, unsampled,
// with the token's name, the app, the device's did and the outcome; never
// the token. One that names no stored token is sampled as a failed verdict
// is: anyone can send those.
type verdictLog struct {
	next    attest.Observer
	log     *slog.Logger
	every   atomic.Int64
	n       atomic.Uint64 // failed verdicts
	refused atomic.Uint64
	unknown atomic.Uint64 // debug tokens that name no stored token
}

func newVerdictLog(next attest.Observer, log *slog.Logger, every int) *verdictLog {
	v := &verdictLog{next: next, log: log}
	v.every.Store(int64(every))
	return v
}

// Verdict implements attest.Observer, for a verdict of no known request.
func (v *verdictLog) Verdict(o attest.Outcome) {
	v.AttestVerdict(context.Background(), o)
}

// AttestVerdict implements attest.RequestObserver.
func (v *verdictLog) AttestVerdict(ctx context.Context, o attest.Outcome) {
	v.next.Verdict(o)
	if o.Debug != attest.DebugNone {
		v.debugUse(ctx, o)
	}
	if o.Passed {
		return
	}
	n := v.n.Add(1)
	lvl, every, ok := v.level(ctx, n)
	if !ok {
		return
	}
	mode := "enforce"
	if o.Monitor {
		mode = "monitor"
	}
	v.log.LogAttrs(ctx, lvl, "verdict failed", slog.String("reasons", strings.Join(o.Reasons, ",")), slog.String("mode", mode),
		slog.Uint64("sampled_1_in", every), slog.Uint64("failed_so_far", n))
}

// debugUse logs an attest that carried a debug token.
func (v *verdictLog) debugUse(ctx context.Context, o attest.Outcome) {
	lvl := slog.LevelInfo
	if o.Debug == attest.DebugUnknown {
		var ok bool
		if lvl, _, ok = v.level(ctx, v.unknown.Add(1)); !ok {
			return
		}
	}
	v.log.LogAttrs(ctx, lvl, "debug token", slog.String("outcome", o.Debug.String()), slog.String("name", o.DebugName),
		slog.String("app", o.App), slog.String("did", o.Device), slog.Bool("passed", o.Passed))
}

// AttestRefused implements attest.RequestObserver: the error's public code
// and its cause (the edge's own text: field names, counts, which check
// failed; never a secret, a key or request data). An internal failure is
// not logged here: the router logs every endpoint's ("request failed",
// with the request id), once.
func (v *verdictLog) AttestRefused(ctx context.Context, err error) {
	code := apierr.From(err).Code
	if code == apierr.Internal {
		return
	}
	n := v.refused.Add(1)
	lvl, every, ok := v.level(ctx, n)
	if !ok {
		return
	}
	v.log.LogAttrs(ctx, lvl, "attest refused", slog.String("code", string(code)), slog.String("reason", err.Error()),
		slog.Uint64("sampled_1_in", every), slog.Uint64("refused_so_far", n))
}

// level is the level to log the n-th event of a kind at: info for one in
// every N, debug for the others; ok is false when nothing is logged (N = 0
// logs none).
func (v *verdictLog) level(ctx context.Context, n uint64) (lvl slog.Level, every uint64, ok bool) {
	every = uint64(v.every.Load())
	switch {
	case every == 0:
		return 0, 0, false
	case (n-1)%every == 0:
		return slog.LevelInfo, every, true
	}
	return slog.LevelDebug, every, v.log.Enabled(ctx, slog.LevelDebug)
}

// Challenge implements attest.Observer.
func (v *verdictLog) Challenge() { v.next.Challenge() }

// daemonMetrics are the daemon's own gauges and counters.
type daemonMetrics struct {
	reloads      *prometheus.CounterVec
	certNotAfter prometheus.Gauge
	build        *prometheus.GaugeVec
}

func newDaemonMetrics(reg prometheus.Registerer, version string) *daemonMetrics {
	m := &daemonMetrics{
		reloads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "attestd_reloads_total", Help: "SIGHUP reloads, by result (ok, error).",
		}, []string{"result"}),
		certNotAfter: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "attestd_tls_certificate_expiry_timestamp_seconds", Help: "Unix time at which the serving TLS certificate expires (0 without TLS).",
		}),
		build: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "attestd_build_info", Help: "Always 1; the version label is the running build.",
		}, []string{"version"}),
	}
	reg.MustRegister(m.reloads, m.certNotAfter, m.build)
	m.build.WithLabelValues(version).Set(1)
	m.reloads.WithLabelValues("ok")
	m.reloads.WithLabelValues("error")
	return m
}
