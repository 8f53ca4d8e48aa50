package loadtest

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// OverloadConfig is the shedding check of the overload issue: measure what
// the node serves (or take Capacity), offer Factor times that open-loop for
// Duration, then RecoveryFactor times it for Recovery, sampling the node's
// resident memory from its admin /metrics all along.
type OverloadConfig struct {
	// Run is the base of every phase: target, transport, devices, mix.
	// Give it enough devices that the per-device limit is not what sheds
	// (devices ≥ Factor × capacity ÷ the per-device rate).
	Run Config
	// Admin is the node's admin base URL (http://127.0.0.1:9090), for
	// process_resident_memory_bytes.
	Admin string
	// Capacity is the attests a second the node serves; 0 measures it in a
	// closed-loop probe of Probe (default 10 s).
	Capacity float64
	Probe    time.Duration
	// Factor is the overload (default 3); Duration its length (default 60 s).
	Factor   float64
	Duration time.Duration
	// RecoveryFactor (default 0.5) and Recovery (default 10 s): the load
	// after the overload, which must be served at once.
	RecoveryFactor float64
	Recovery       time.Duration
	// Bounds checked: the p99 of admitted attests (default 100 ms) and of
	// refusals (default 10 ms), the memory growth (default 64 MiB), and
	// the refused share during recovery (default 0.1 %).
	MaxAdmittedP99     time.Duration
	MaxRefusedP99      time.Duration
	MaxRSSGrowth       int64
	MaxRecoveryRefused float64
	// Progress, when set, gets a line a second and the phase names.
	Progress io.Writer
}

// OverloadReport is what the check found; Violations is empty when the
// node shed as it must.
type OverloadReport struct {
	Capacity   float64  `json:"capacity_attests_per_sec"`
	Offered    float64  `json:"offered_attests_per_sec"`
	Probe      *Report  `json:"probe,omitempty"`
	Overload   *Report  `json:"overload"`
	Recovery   *Report  `json:"recovery"`
	RSSBefore  int64    `json:"rss_before_bytes"`
	RSSPeak    int64    `json:"rss_peak_bytes"`
	RSSAfter   int64    `json:"rss_after_bytes"`
	Violations []string `json:"violations"`
}

func (c *OverloadConfig) defaults() {
	if c.Probe == 0 {
		c.Probe = 10 * time.Second
	}
	if c.Factor == 0 {
		c.Factor = 3
	}
	if c.Duration == 0 {
		c.Duration = 60 * time.Second
	}
	if c.RecoveryFactor == 0 {
		c.RecoveryFactor = 0.5
	}
	if c.Recovery == 0 {
		c.Recovery = 10 * time.Second
	}
	if c.MaxAdmittedP99 == 0 {
		c.MaxAdmittedP99 = 100 * time.Millisecond
	}
	if c.MaxRefusedP99 == 0 {
		c.MaxRefusedP99 = 10 * time.Millisecond
	}
	if c.MaxRSSGrowth == 0 {
		c.MaxRSSGrowth = 64 << 20
	}
	if c.MaxRecoveryRefused == 0 {
		c.MaxRecoveryRefused = 0.001
	}
}

// Overload runs the check. An error means it could not run; a node that
// does not shed as it must gets a report with Violations.
func Overload(ctx context.Context, cfg OverloadConfig) (*OverloadReport, error) {
	cfg.defaults()
	if _, err := CheckTarget(ctx, cfg.Admin, cfg.Run.AllowRemote); err != nil {
		return nil, fmt.Errorf("admin: %w", err)
	}
	rep := &OverloadReport{}
	rss := func() int64 {
		v, err := residentMemory(ctx, cfg.Admin)
		if err != nil {
			return -1
		}
		return v
	}
	if rep.RSSBefore = rss(); rep.RSSBefore < 0 {
		return nil, fmt.Errorf("admin %s: no process_resident_memory_bytes in /metrics", cfg.Admin)
	}
	phase := func(name string) {
		if cfg.Progress != nil {
			fmt.Fprintf(cfg.Progress, "--- %s\n", name)
		}
	}
	rep.Capacity = cfg.Capacity
	if rep.Capacity == 0 {
		phase(fmt.Sprintf("probe: closed loop for %v", cfg.Probe))
		p := cfg.Run
		p.Mode, p.Duration, p.Requests, p.Rate, p.Progress = ModeClosed, cfg.Probe, 0, 0, cfg.Progress
		p.Prefetch, p.Presign, p.PrefetchCount = false, false, 0 // the probe runs the whole flow
		var err error
		if rep.Probe, err = Run(ctx, p); err != nil {
			return nil, err
		}
		rep.Capacity = rep.Probe.AttestsPerSec
	}
	// Sample memory through the overload and the recovery.
	sctx, stop := context.WithCancel(ctx)
	var peakMu sync.Mutex
	rep.RSSPeak = rep.RSSBefore
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(250 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-sctx.Done():
				return
			case <-t.C:
				if v := rss(); v > 0 {
					peakMu.Lock()
					rep.RSSPeak = max(rep.RSSPeak, v)
					peakMu.Unlock()
				}
			}
		}
	}()
	open := func(factor float64, d time.Duration) (*Report, error) {
		o := cfg.Run
		o.Mode, o.Rate, o.Duration, o.Requests, o.Progress = ModeOpen, factor*rep.Capacity, d, 0, cfg.Progress
		o.PrefetchCount = 0 // rate × duration of this phase
		if o.Workers == 0 {
			o.Workers = 1024
		}
		return Run(ctx, o)
	}
	rep.Offered = cfg.Factor * rep.Capacity
	phase(fmt.Sprintf("overload: open loop at %.0f/s (%.1f× %.0f/s) for %v", rep.Offered, cfg.Factor, rep.Capacity, cfg.Duration))
	var err error
	rep.Overload, err = open(cfg.Factor, cfg.Duration)
	if err == nil {
		phase(fmt.Sprintf("recovery: open loop at %.0f/s for %v", cfg.RecoveryFactor*rep.Capacity, cfg.Recovery))
		rep.Recovery, err = open(cfg.RecoveryFactor, cfg.Recovery)
	}
	stop()
	wg.Wait()
	if err != nil {
		return nil, err
	}
	rep.RSSAfter = rss()
	rep.Violations = cfg.check(rep)
	return rep, nil
}

func (c *OverloadConfig) check(rep *OverloadReport) []string {
	var v []string
	ms := func(d time.Duration) float64 { return float64(d) / 1e6 }
	o, r := rep.Overload, rep.Recovery
	if o.Refused == 0 {
		v = append(v, "overload: nothing was refused (429/503): the node does not shed")
	}
	if q := o.Latency[latAttestAdmitted]; q.P99 > ms(c.MaxAdmittedP99) {
		v = append(v, fmt.Sprintf("overload: admitted attests p99 %.1f ms over %.1f ms", q.P99, ms(c.MaxAdmittedP99)))
	}
	if q, ok := o.Latency[latRefused]; ok && q.P99 > ms(c.MaxRefusedP99) {
		v = append(v, fmt.Sprintf("overload: refusals p99 %.1f ms over %.1f ms: not refused fast", q.P99, ms(c.MaxRefusedP99)))
	}
	for _, p := range []*Report{o, r} {
		if n := p.RetryAfter[""]; n > 0 {
			v = append(v, fmt.Sprintf("%d refusals without Retry-After", n))
		}
		for k, n := range p.ErrorCodes {
			if strings.HasSuffix(k, "(transport)") {
				v = append(v, fmt.Sprintf("%s: %d transport errors (%s): refusing must answer, not drop", p.Mode, n, k))
			}
		}
	}
	if g := rep.RSSPeak - rep.RSSBefore; g > c.MaxRSSGrowth {
		v = append(v, fmt.Sprintf("memory grew %d MiB (peak %d MiB), over %d MiB", g>>20, rep.RSSPeak>>20, c.MaxRSSGrowth>>20))
	}
	total := r.Attests + r.Challenges
	if total > 0 && float64(r.Refused)/float64(total) > c.MaxRecoveryRefused {
		v = append(v, fmt.Sprintf("recovery: %d of %d requests refused after the load dropped", r.Refused, total))
	}
	if q := r.Latency[latAttestAdmitted]; q.P99 > ms(c.MaxAdmittedP99) {
		v = append(v, fmt.Sprintf("recovery: attest p99 %.1f ms over %.1f ms", q.P99, ms(c.MaxAdmittedP99)))
	}
	return v
}

// residentMemory reads process_resident_memory_bytes from admin/metrics.
func residentMemory(ctx context.Context, admin string) (int64, error) {
	v, err := metricValue(ctx, admin, "process_resident_memory_bytes")
	return int64(v), err
}

// metricValue reads one unlabelled sample from admin/metrics.
func metricValue(ctx context.Context, admin, name string) (float64, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(admin, "/")+"/metrics", nil)
	if err != nil {
		return 0, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(io.LimitReader(resp.Body, 8<<20))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), name+" "); ok {
			return strconv.ParseFloat(strings.TrimSpace(v), 64)
		}
	}
	return 0, fmt.Errorf("no %s in %s/metrics", name, admin)
}

// WriteText writes the overload report for people.
func (rep *OverloadReport) WriteText(w io.Writer) error {
	fmt.Fprintf(w, "capacity %.0f attests/s; offered %.0f/s\n", rep.Capacity, rep.Offered)
	fmt.Fprintf(w, "resident memory: before %.1f MiB, peak %.1f MiB, after %.1f MiB\n\n",
		float64(rep.RSSBefore)/(1<<20), float64(rep.RSSPeak)/(1<<20), float64(rep.RSSAfter)/(1<<20))
	for _, p := range []struct {
		name string
		r    *Report
	}{{"PROBE", rep.Probe}, {"OVERLOAD", rep.Overload}, {"RECOVERY", rep.Recovery}} {
		if p.r == nil {
			continue
		}
		fmt.Fprintf(w, "=== %s\n", p.name)
		if err := p.r.WriteText(w); err != nil {
			return err
		}
		fmt.Fprintln(w)
	}
	if len(rep.Violations) == 0 {
		_, err := fmt.Fprintln(w, "PASS: the node shed the overload fast, kept admitted latency bounded and memory flat, and recovered at once")
		return err
	}
	fmt.Fprintln(w, "FAIL:")
	for _, v := range rep.Violations {
		fmt.Fprintln(w, "  -", v)
	}
	return nil
}
