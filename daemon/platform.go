package daemon

import (
	"context"
	"crypto/x509"
	"fmt"
	"math"
	"os"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/attestd/attestd/internal/androidstatus"
	"github.com/attestd/attestd/internal/platformcheck"
	"github.com/attestd/attestd/internal/registry"
	"github.com/attestd/attestd/verify/androidkey"
	"github.com/attestd/attestd/verify/appleattest"
)

// newPlatform builds the platform attestation checker (PROTOCOL.md §7):
// the built-in roots unless --android-roots / --apple-roots replace them,
// and the status list's fail mode (§9).
func (d *Daemon) newPlatform(cfg Config, reg *registry.Registry) (*platformcheck.Checker, error) {
	android, err := roots(cfg.AndroidRoots, androidkey.DefaultRoots, androidkey.ParseRootsPEM)
	if err != nil {
		return nil, fmt.Errorf("--android-roots: %w", err)
	}
	apple, err := roots(cfg.AppleRoots, appleattest.DefaultRoots, appleattest.ParseRootsPEM)
	if err != nil {
		return nil, fmt.Errorf("--apple-roots: %w", err)
	}
	return platformcheck.New(platformcheck.Config{AndroidRoots: android, AppleRoots: apple, ReceiptTTL: cfg.ReceiptTTL, Keys: reg, Log: d.log, NonceTTL: cfg.NonceTTL,
		Status: platformcheck.StatusPolicy{Configured: cfg.AndroidStatus != "", MaxAge: cfg.AndroidStatusMaxAge, FailClosed: cfg.AndroidStatusFailClosed}})
}

func roots(file string, builtin func() ([]*x509.Certificate, error), parse func([]byte) ([]*x509.Certificate, error)) ([]*x509.Certificate, error) {
	if file == "" {
		return builtin()
	}
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	return parse(data)
}

// afterClock is the status keeper's clock: the daemon's Now (tests move
// it) and real timers.
type afterClock struct{ now func() time.Time }

func (c afterClock) Now() time.Time                       { return c.now() }
func (afterClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

// startStatus loads the Android status list when --android-status names
// one (§9): a file must read and parse; a URL starts from its cache, or is
// fetched once here (a failure is logged, not fatal).
func (d *Daemon) startStatus(ctx context.Context) error {
	if d.cfg.AndroidStatus == "" {
		return nil
	}
	src, err := androidstatus.ParseSource(d.cfg.AndroidStatus)
	if err != nil {
		return fmt.Errorf("--android-status: %w", err)
	}
	if src.IsURL() && d.cfg.AndroidStatusCache == "" {
		d.log.Warn("--android-status is a URL and --android-status-cache is not set: a restart without network starts without a status list")
	}
	k, err := androidstatus.New(androidstatus.Config{
		Source: src, Cache: d.cfg.AndroidStatusCache, Refresh: d.cfg.AndroidStatusRefresh,
		Install: d.platform.SetStatus, Clock: afterClock{d.opts.Now}, Log: d.log,
	})
	if err != nil {
		return err
	}
	if err := k.Start(ctx); err != nil {
		return fmt.Errorf("--android-status: %w", err)
	}
	d.status = k
	return nil
}

// runStatus keeps the status list fresh until ctx ends.
func (d *Daemon) runStatus(ctx context.Context) error {
	if d.status == nil {
		<-ctx.Done()
		return nil
	}
	return d.status.Run(ctx)
}

// statusCollector exports the status list's metrics (§9), whether a list
// is configured or not, so that dashboards and alerts find every series.
type statusCollector struct {
	d                                                *Daemon
	age, entries, failures, unrevoked, stale, legacy *prometheus.Desc
}

func newStatusCollector(d *Daemon) *statusCollector {
	return &statusCollector{d: d,
		age: prometheus.NewDesc("attestd_android_status_age_seconds",
			"Age of the Android status list in force: since its last good fetch (URL) or its file's modification (file); +Inf while a configured list was never loaded; 0 without --android-status.", nil, nil),
		entries: prometheus.NewDesc("attestd_android_status_entries", "Certificates the Android status list in force names.", nil, nil),
		failures: prometheus.NewDesc("attestd_android_status_fetch_failures_total",
			"Fetches or reads of the Android status list that did not replace the list in force, by reason.", []string{"reason"}, nil),
		unrevoked: prometheus.NewDesc("attestd_android_status_unrevoked_total",
			"Certificates a new Android status list no longer lists as REVOKED (accepted again).", nil, nil),
		stale: prometheus.NewDesc("attestd_android_status_stale_total",
			"android-key evidence and receipts judged while the status list was stale, by use (evidence, receipt) and action (accepted: fail open; refused: fail closed).", []string{"use", "action"}, nil),
		legacy: prometheus.NewDesc("attestd_android_receipts_without_serials_total",
			"Uses of android-key receipts issued before receipts recorded their chain's serials (accepted until they expire, not checked for revocation).", nil, nil),
	}
}

// Describe implements prometheus.Collector.
func (c *statusCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.age, c.entries, c.failures, c.unrevoked, c.stale, c.legacy} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *statusCollector) Collect(ch chan<- prometheus.Metric) {
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	counter := func(d *prometheus.Desc, v uint64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}
	age := 0.0
	if c.d.cfg.AndroidStatus != "" {
		a, loaded := c.d.platform.StatusAge(c.d.opts.Now())
		age = a.Seconds()
		if !loaded {
			age = math.Inf(1)
		}
	}
	gauge(c.age, age)
	var ks androidstatus.Stats
	if c.d.status != nil {
		ks = c.d.status.Stats()
	}
	gauge(c.entries, float64(ks.Entries))
	for _, r := range androidstatus.Reasons() {
		counter(c.failures, ks.Failures[r], r)
	}
	counter(c.unrevoked, ks.Unrevoked)
	ps := c.d.platform.Stats()
	counter(c.stale, ps.StaleEvidence[0], "evidence", "accepted")
	counter(c.stale, ps.StaleEvidence[1], "evidence", "refused")
	counter(c.stale, ps.StaleReceipts[0], "receipt", "accepted")
	counter(c.stale, ps.StaleReceipts[1], "receipt", "refused")
	counter(c.legacy, ps.ReceiptsWithoutSerials)
}
