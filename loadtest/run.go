package loadtest

import (
	"context"
	crand "crypto/rand"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/url"
	"sync"
	"sync/atomic"
	"time"
)

// Modes of a run.
const (
	// ModeClosed: Workers workers, each sending its next operation when the
	// last one is answered, as fast as the target allows.
	ModeClosed = "closed"
	// ModeOpen: operations start at a fixed Rate whatever the answers do;
	// latency is measured from each operation's intended start, so a stall
	// of the target shows in full (no coordinated omission).
	ModeOpen = "open"
)

// Config is one run. A run is bounded: by Duration, by Requests, or both.
type Config struct {
	Target      string // http://127.0.0.1:8080 (HTTP/1.1) or https://127.0.0.1:8443 (HTTP/3)
	Transport   string // TransportHTTP1 (default) or TransportHTTP3
	TLS         TLSOptions
	AllowRemote bool // allow a target that is not loopback
	// Admin, when set, is the node's admin base URL: the report then has
	// the CPU time the node's process spent during the run, read from its
	// /metrics (process_cpu_seconds_total), and attests per CPU second.
	Admin string

	Mode     string        // ModeClosed (default) or ModeOpen
	Workers  int           // closed: workers; open: most operations in flight (default 64 / 256)
	Rate     float64       // open: operations started per second
	Duration time.Duration // stop starting operations after this long
	Requests int64         // stop after this many operations (0: no count bound)
	Timeout  time.Duration // per HTTP request (default 10 s)

	Devices int // device keys, used in turn (default 1000)
	Mix     Mix // evidence kinds by weight (default DefaultMix)
	// Prefetch fetches the nonces of the run before it starts, so that the
	// timed run sends attests only (the target needs a nonce lifetime
	// longer than the run: --nonce-ttl 300s). Prefetch is how many (default:
	// Requests, or Rate × Duration in open mode).
	Prefetch      bool
	PrefetchCount int
	// Presign, with Prefetch, also builds and signs every request before
	// the run (evidence kinds drawn from the mix; replays become passes),
	// so that the run only sends: a generator core then offers several
	// times what it could while signing (~50 µs of its CPU per attest),
	// enough to overload a node of the same size.
	Presign bool

	// Progress receives a line a second (nil: none).
	Progress io.Writer
	// Now is the clock (default time.Now); Rand the randomness of keys
	// and signatures (default crypto/rand).
	Now  func() time.Time
	Rand io.Reader
}

// An operation is one attest: a challenge for a fresh nonce (unless the
// nonces were prefetched, or the evidence replays a used one), the body of
// the evidence kind drawn from the mix, signed by the next device, and the
// attest.

func (c *Config) defaults() error {
	if c.Transport == "" {
		c.Transport = TransportHTTP1
	}
	if c.Mode == "" {
		c.Mode = ModeClosed
	}
	if c.Mode != ModeClosed && c.Mode != ModeOpen {
		return fmt.Errorf("mode %q: want %s or %s", c.Mode, ModeClosed, ModeOpen)
	}
	if c.Workers == 0 {
		c.Workers = map[string]int{ModeClosed: 64, ModeOpen: 256}[c.Mode]
	}
	if c.Workers < 1 || c.Workers > 100_000 {
		return fmt.Errorf("workers %d: want 1 to 100000", c.Workers)
	}
	if c.Mode == ModeOpen && !(c.Rate > 0 && c.Rate <= 10_000_000) {
		return fmt.Errorf("open mode needs a rate (operations per second, at most 1e7), got %v", c.Rate)
	}
	if c.Duration <= 0 && c.Requests <= 0 {
		return errors.New("a run is bounded: give a duration, a request count, or both")
	}
	if c.Duration < 0 || c.Requests < 0 {
		return errors.New("duration and requests must not be negative")
	}
	if c.Timeout == 0 {
		c.Timeout = 10 * time.Second
	}
	if c.Devices == 0 {
		c.Devices = 1000
	}
	if c.Devices < 1 || c.Devices > 1_000_000 {
		return fmt.Errorf("devices %d: want 1 to 1000000", c.Devices)
	}
	if c.Mix.total() == 0 {
		c.Mix, _ = ParseMix(DefaultMix)
	}
	if c.Presign && !c.Prefetch {
		return errors.New("presign needs prefetch")
	}
	if c.Prefetch && c.PrefetchCount == 0 {
		switch {
		case c.Requests > 0:
			c.PrefetchCount = int(c.Requests)
		case c.Mode == ModeOpen:
			c.PrefetchCount = int(c.Rate*c.Duration.Seconds()) + 1
		default:
			return errors.New("prefetch in closed mode with a duration: give the prefetch count")
		}
	}
	if c.PrefetchCount > 20_000_000 {
		return fmt.Errorf("prefetch %d: at most 20000000", c.PrefetchCount)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Rand == nil {
		c.Rand = crand.Reader
	}
	return nil
}

// runner is one run's state.
type runner struct {
	cfg     Config
	tr      transport
	devices []*Device
	nonces  []string // prefetched
	signed  []signedReq
	nextNon atomic.Int64
	started atomic.Int64 // operations started (closed) or scheduled (open)
	stats   *stats
	start   time.Time
	stop    time.Time // no operation starts after this
}

// Run runs the load and returns its report. ctx cancels it early (the
// report then covers what was done).
func Run(ctx context.Context, cfg Config) (*Report, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	u, err := CheckTarget(ctx, cfg.Target, cfg.AllowRemote)
	if err != nil {
		return nil, err
	}
	if cfg.Admin != "" {
		if _, err := CheckTarget(ctx, cfg.Admin, cfg.AllowRemote); err != nil {
			return nil, fmt.Errorf("admin: %w", err)
		}
	}
	r := &runner{cfg: cfg, stats: newStats()}
	if r.tr, err = newTransport(cfg.Transport, u, cfg.Workers, cfg.Timeout, cfg.TLS); err != nil {
		return nil, err
	}
	defer r.tr.close()
	if r.devices, err = NewDevices(cfg.Devices, cfg.Rand); err != nil {
		return nil, err
	}
	if err := r.probe(ctx, u); err != nil {
		return nil, err
	}
	if cfg.Prefetch {
		if err := r.prefetch(ctx); err != nil {
			return nil, err
		}
		if cfg.Presign {
			if err := r.presign(ctx); err != nil {
				return nil, err
			}
		}
	}
	cpu0 := r.targetCPU(ctx)
	r.start = cfg.Now()
	if cfg.Duration > 0 {
		r.stop = r.start.Add(cfg.Duration)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	progressDone := r.progress(ctx)
	if cfg.Mode == ModeOpen {
		r.runOpen(ctx)
	} else {
		r.runClosed(ctx)
	}
	elapsed := cfg.Now().Sub(r.start)
	cancel()
	<-progressDone
	rep := r.report(u, elapsed)
	if cpu1 := r.targetCPU(context.Background()); cpu0 >= 0 && cpu1 >= 0 {
		rep.TargetCPUSeconds = cpu1 - cpu0
		if rep.TargetCPUSeconds > 0 {
			rep.AttestsPerTargetCPUSecond = float64(rep.Attests) / rep.TargetCPUSeconds
		}
		rss, _ := residentMemory(context.Background(), cfg.Admin)
		rep.TargetRSSBytes = rss
	}
	return rep, nil
}

// targetCPU is the node's process CPU seconds so far, or -1.
func (r *runner) targetCPU(ctx context.Context) float64 {
	if r.cfg.Admin == "" {
		return -1
	}
	v, err := metricValue(ctx, r.cfg.Admin, "process_cpu_seconds_total")
	if err != nil {
		return -1
	}
	return v
}

// probe makes one challenge, so that a wrong target fails at once.
func (r *runner) probe(ctx context.Context, u *url.URL) error {
	var a answer
	if err := r.tr.post(ctx, "/v1/challenge", []byte("{}"), nil, &a); err != nil {
		return fmt.Errorf("target %s does not answer: %w", u, err)
	}
	if a.status != 200 && a.status != 429 && a.status != 503 {
		return fmt.Errorf("target %s: POST /v1/challenge answered %d: %.200s", u, a.status, a.body)
	}
	return nil
}

// prefetch fetches PrefetchCount nonces, Workers at a time.
func (r *runner) prefetch(ctx context.Context) error {
	r.nonces = make([]string, r.cfg.PrefetchCount)
	var next atomic.Int64
	var firstErr error
	var once sync.Once
	var wg sync.WaitGroup
	for w := 0; w < min(r.cfg.Workers, 64); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var a answer
			for {
				i := next.Add(1) - 1
				if i >= int64(len(r.nonces)) || ctx.Err() != nil {
					return
				}
				n, err := r.challenge(ctx, &a, false)
				for tries := 0; err != nil && (a.status == 429 || a.status == 503) && tries < 500 && ctx.Err() == nil; tries++ {
					// A node still shedding from an earlier run: wait a little.
					sleep(ctx, 20*time.Millisecond)
					n, err = r.challenge(ctx, &a, false)
				}
				if err != nil {
					once.Do(func() { firstErr = fmt.Errorf("prefetch: %w", err) })
					return
				}
				r.nonces[i] = n
			}
		}()
	}
	wg.Wait()
	if firstErr == nil && ctx.Err() != nil {
		firstErr = ctx.Err()
	}
	return firstErr
}

// signedReq is one presigned attest.
type signedReq struct {
	kind      Kind
	body, sig []byte
}

// presign builds and signs a request for every prefetched nonce.
func (r *runner) presign(ctx context.Context) error {
	r.signed = make([]signedReq, len(r.nonces))
	var next atomic.Int64
	var wg sync.WaitGroup
	var firstErr error
	var once sync.Once
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 99))
			for ctx.Err() == nil {
				i := next.Add(1) - 1
				if i >= int64(len(r.nonces)) {
					return
				}
				k := r.cfg.Mix.pick(rng.IntN(r.cfg.Mix.total()))
				if k == KindReplay {
					k = KindPass
				}
				d := r.devices[int(i)%len(r.devices)]
				body := d.AppendBody(make([]byte, 0, 768), r.nonces[i], k)
				sig, err := d.Sign(make([]byte, 0, 100), body, k, r.cfg.Rand)
				if err != nil {
					once.Do(func() { firstErr = fmt.Errorf("presign: %w", err) })
					return
				}
				r.signed[i] = signedReq{kind: k, body: body, sig: sig}
			}
		}(w)
	}
	wg.Wait()
	if firstErr == nil {
		firstErr = ctx.Err()
	}
	return firstErr
}

// sendSigned sends the next presigned request; false when none are left.
func (wk *worker) sendSigned(ctx context.Context, due time.Time) bool {
	r := wk.r
	i := r.nextNon.Add(1) - 1
	if i >= int64(len(r.signed)) {
		r.stats.exhausted.Store(true)
		return false
	}
	q := &r.signed[i]
	sent := r.cfg.Now()
	err := r.tr.post(ctx, "/v1/attest", q.body, q.sig, &wk.a)
	end := r.cfg.Now()
	r.stats.op.Record(end.Sub(due))
	r.stats.attests.Add(1)
	label := classify(&wk.a, err)
	r.stats.record(endpointAttest, &wk.a, err, label, end.Sub(sent))
	r.stats.outcome(q.kind, label)
	q.body, q.sig = nil, nil // let the memory go as the run proceeds
	return true
}

// claim reserves the next operation; false when the run's count is done.
func (r *runner) claim() bool {
	n := r.started.Add(1)
	return r.cfg.Requests == 0 || n <= r.cfg.Requests
}

func (r *runner) runClosed(ctx context.Context) {
	var wg sync.WaitGroup
	for w := 0; w < r.cfg.Workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			wk := r.newWorker(w)
			for ctx.Err() == nil && r.cfg.Now().Before(r.deadline()) && r.claim() {
				t := r.cfg.Now()
				if !wk.operation(ctx, t) {
					return
				}
			}
		}(w)
	}
	wg.Wait()
}

// deadline is the end of the run's duration (far away when unbounded).
func (r *runner) deadline() time.Time {
	if r.stop.IsZero() {
		return r.start.Add(100 * 365 * 24 * time.Hour)
	}
	return r.stop
}

// runOpen starts operations at Rate: the i-th is due at start + i/Rate and
// its latency counts from then, even when the generator could only send it
// later because every worker was busy.
func (r *runner) runOpen(ctx context.Context) {
	due := make(chan time.Time, r.cfg.Workers)
	var wg sync.WaitGroup
	for w := 0; w < r.cfg.Workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			wk := r.newWorker(w)
			grace := r.deadline().Add(r.cfg.Timeout)
			for t := range due {
				if ctx.Err() != nil || r.cfg.Now().After(grace) {
					r.stats.unsent.Add(1)
					continue
				}
				if !wk.operation(ctx, t) {
					r.stats.unsent.Add(1)
				}
			}
		}(w)
	}
	interval := time.Duration(float64(time.Second) / r.cfg.Rate)
	for i := int64(0); ctx.Err() == nil; i++ {
		t := r.start.Add(time.Duration(i) * interval)
		if !t.Before(r.deadline()) || !r.claim() {
			break
		}
		if d := t.Sub(r.cfg.Now()); d > 0 {
			sleep(ctx, d)
		}
		select {
		case due <- t:
		case <-ctx.Done():
		}
	}
	close(due)
	wg.Wait()
}

func sleep(ctx context.Context, d time.Duration) {
	if d < 50*time.Microsecond {
		return // a batch of arrivals goes out together rather than late
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

// worker is one goroutine's scratch space.
type worker struct {
	r        *runner
	rng      *rand.Rand
	dev      int
	a        answer
	body     []byte
	sig      []byte
	lastUsed string // a nonce this worker's attests used up
}

func (r *runner) newWorker(w int) *worker {
	return &worker{r: r, rng: rand.New(rand.NewPCG(uint64(w), uint64(r.start.UnixNano()))), dev: w % len(r.devices),
		body: make([]byte, 0, 1024), sig: make([]byte, 0, 128), a: answer{body: make([]byte, 0, 2048)}}
}

// operation runs one attest operation due at t; false when the generator
// has nothing left to send (prefetched nonces used up).
func (wk *worker) operation(ctx context.Context, due time.Time) bool {
	r := wk.r
	if r.signed != nil {
		return wk.sendSigned(ctx, due)
	}
	k := r.cfg.Mix.pick(wk.rng.IntN(r.cfg.Mix.total()))
	if k == KindReplay && wk.lastUsed == "" {
		k = KindPass // nothing to replay yet
	}
	var nonce string
	switch {
	case k == KindReplay:
		nonce = wk.lastUsed
	case r.nonces != nil:
		i := r.nextNon.Add(1) - 1
		if i >= int64(len(r.nonces)) {
			r.stats.exhausted.Store(true)
			return false
		}
		nonce = r.nonces[i]
	default:
		var err error
		if nonce, err = r.challenge(ctx, &wk.a, true); err != nil {
			r.stats.op.Record(r.cfg.Now().Sub(due))
			return true // the challenge's outcome is counted
		}
	}
	d := r.devices[wk.dev]
	// Each worker steps through the devices by the number of workers, so
	// that workers in step do not all use the same device at once (which a
	// per-device rate limit refuses, as it must).
	wk.dev = (wk.dev + r.cfg.Workers) % len(r.devices)
	wk.body = d.AppendBody(wk.body[:0], nonce, k)
	var err error
	if wk.sig, err = d.Sign(wk.sig[:0], wk.body, k, r.cfg.Rand); err != nil {
		r.stats.outcome(k, "generator:sign")
		return true
	}
	sent := r.cfg.Now()
	err = r.tr.post(ctx, "/v1/attest", wk.body, wk.sig, &wk.a)
	end := r.cfg.Now()
	r.stats.op.Record(end.Sub(due))
	r.stats.attests.Add(1)
	if k == KindReplay {
		r.stats.replays.Add(1)
	}
	label := classify(&wk.a, err)
	r.stats.record(endpointAttest, &wk.a, err, label, end.Sub(sent))
	r.stats.outcome(k, label)
	if k != KindBadSignature && k != KindReplay && err == nil && wk.a.status == 200 {
		wk.lastUsed = nonce
	}
	return true
}

// challenge asks for a nonce; counted when count is set.
func (r *runner) challenge(ctx context.Context, a *answer, count bool) (string, error) {
	a.status = 0
	sent := r.cfg.Now()
	err := r.tr.post(ctx, "/v1/challenge", []byte("{}"), nil, a)
	end := r.cfg.Now()
	var nonce string
	if err == nil && a.status == 200 {
		nonce, err = nonceOf(a.body)
	}
	if count {
		r.stats.challenges.Add(1)
		label := classify(a, err)
		r.stats.record(endpointChallenge, a, err, label, end.Sub(sent))
	}
	if err != nil {
		return "", err
	}
	if a.status != 200 {
		return "", fmt.Errorf("challenge answered %d", a.status)
	}
	return nonce, nil
}

// progress writes a line a second until ctx ends.
func (r *runner) progress(ctx context.Context) <-chan struct{} {
	done := make(chan struct{})
	if r.cfg.Progress == nil {
		close(done)
		return done
	}
	go func() {
		defer close(done)
		t := time.NewTicker(time.Second)
		defer t.Stop()
		var last uint64
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				n := r.stats.attests.Load()
				s := r.stats.op.Snapshot()
				fmt.Fprintf(r.cfg.Progress, "[%5.0fs] attests %d (%d/s), challenges %d, errors %d, refused %d | operation p50 %s p99 %s max %s\n",
					r.cfg.Now().Sub(r.start).Seconds(), n, n-last, r.stats.challenges.Load(), r.stats.errors.Load(),
					r.stats.refused.Load(), ms(s.Quantile(0.5)), ms(s.Quantile(0.99)), ms(s.Max))
				last = n
			}
		}
	}()
	return done
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2fms", float64(d)/1e6) }
