package daemon

import (
	"log/slog"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/attestd/attestd/internal/apierr"
	"github.com/attestd/attestd/internal/attest"
	"github.com/attestd/attestd/internal/metrics"
)

// Transports, as the transport label of attestd_transport_requests_total.
const (
	transportHTTP1 = "http1"
	transportHTTP3 = "http3"
)

// transportMetrics counts requests per listener. Each transport has its
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
}

func (m *transportMetrics) observer(core *metrics.Metrics, transport string) *transportObserver {
	return &transportObserver{core: core, transport: transport, requests: m.requests}
}

// Request implements api.Observer.
func (o *transportObserver) Request(endpoint string, status int, code apierr.Code, d time.Duration) {
	o.core.Request(endpoint, status, code, d)
	o.requests.WithLabelValues(o.transport, endpoint, strconv.Itoa(status)).Inc()
}

// verdictLog implements attest.Observer: it passes every event to the
// metrics and logs one failed verdict in every N with its reasons (public
// reason codes only: never an app, a device or a key). N may change on
// reload.
type verdictLog struct {
	next  attest.Observer
	log   *slog.Logger
	every atomic.Int64
	n     atomic.Uint64
}

func newVerdictLog(next attest.Observer, log *slog.Logger, every int) *verdictLog {
	v := &verdictLog{next: next, log: log}
	v.every.Store(int64(every))
	return v
}

// Verdict implements attest.Observer.
func (v *verdictLog) Verdict(passed bool, reasons []string) {
	v.next.Verdict(passed, reasons)
	if passed {
		return
	}
	every := uint64(v.every.Load())
	if every == 0 {
		return
	}
	if n := v.n.Add(1); (n-1)%every == 0 {
		v.log.Info("verdict failed", "reasons", strings.Join(reasons, ","), "sampled_1_in", every, "failed_so_far", n)
	}
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
