// Package daemon wires the edge: configuration → store → registry → core →
// listeners, run as one task list that stops everything on the first error,
// with readiness, draining and live store updates.
//
// It is the only package that knows every other one. cmd/attestd calls Main.
package daemon

import (
	"context"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/attestd/attestd/internal/api"
	"github.com/attestd/attestd/internal/attest"
	"github.com/attestd/attestd/internal/fastapi"
	"github.com/attestd/attestd/internal/metrics"
	"github.com/attestd/attestd/internal/registry"
	"github.com/attestd/attestd/internal/replay"
	"github.com/attestd/attestd/internal/state"
	"github.com/attestd/attestd/store"
	"github.com/attestd/attestd/store/open"
)

// Main runs attestd with args until SIGINT or SIGTERM; it returns the exit code.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	f, err := ParseFlags(args, stderr)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		fmt.Fprintln(stderr, "attestd:", err)
		return 2
	}
	cfg, err := f.Validate()
	if err != nil {
		fmt.Fprintln(stderr, "attestd:", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	d, err := New(ctx, cfg, Options{Stdout: stdout, Stderr: stderr})
	if err != nil {
		fmt.Fprintln(stderr, "attestd:", err)
		return 1
	}
	if err := d.Run(ctx); err != nil {
		fmt.Fprintln(stderr, "attestd:", err)
		return 1
	}
	return 0
}

// Options are the daemon's process-level dependencies.
type Options struct {
	Stdout, Stderr io.Writer
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Daemon is one running edge node.
type Daemon struct {
	cfg      Config
	opts     Options
	log      *slog.Logger
	store    store.Store
	reg      *registry.Registry
	metrics  *metrics.Metrics
	edge     *attest.Edge
	replay   *replay.Set
	http1    *fastapi.Server
	admin    *http.Server
	ln       net.Listener
	adminLn  net.Listener
	snap     *store.Snapshot
	draining atomic.Bool
	seeded   bool
}

// New opens the store, loads it, builds every component and binds the
// listeners; Run serves. The first load is fatal on error.
func New(ctx context.Context, cfg Config, opts Options) (_ *Daemon, err error) {
	if opts.Stdout == nil {
		opts.Stdout = io.Discard
	}
	if opts.Stderr == nil {
		opts.Stderr = io.Discard
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	d := &Daemon{cfg: cfg, opts: opts, log: newLogger(cfg, opts.Stderr)}
	defer func() {
		if err != nil {
			d.close()
		}
	}()
	st, sealer, err := open.Open(ctx, cfg.Store, open.Options{
		MasterKeyFile: cfg.MasterKey,
		OnError:       func(err error) { d.log.Warn("store watch", "err", err); d.storeError() },
		Etcd:          open.EtcdOptions{SnapshotFile: cfg.Snapshot, Now: opts.Now},
	})
	if err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	d.store = st
	if d.reg, err = registry.New(registry.Config{Sealer: sealer}); err != nil {
		return nil, err
	}
	d.metrics = metrics.New(opts.Now, d.reg.CacheStats)
	if h, ok := st.(store.Health); ok {
		d.metrics.SetContactSource(func() time.Time { return h.Health().LastContact })
	}
	if err := d.firstLoad(ctx, sealer); err != nil {
		return nil, err
	}
	d.replay, err = replay.New(replay.Config{MaxEntries: cfg.ReplayMax, Window: attest.MaxNonceTTL + time.Minute})
	if err != nil {
		return nil, err
	}
	if d.edge, err = attest.New(attest.Config{
		Issuer: cfg.Issuer, NonceTTL: cfg.NonceTTL, Now: opts.Now, Rand: rand.Reader,
		Registry: d.reg, Replay: d.replay, Observer: d.metrics,
	}); err != nil {
		return nil, err
	}
	h := api.New(api.Config{Edge: d.edge, Accounts: d.reg, Observer: d.metrics, Log: d.log, Now: opts.Now})
	d.http1 = fastapi.New(fastapi.Config{Handler: h, Log: d.log})
	d.admin = &http.Server{Handler: d.adminMux(), ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 10 * time.Second,
		WriteTimeout: 30 * time.Second, IdleTimeout: 60 * time.Second}
	var lc net.ListenConfig
	if d.ln, err = lc.Listen(ctx, "tcp", cfg.Listen.String()); err != nil {
		return nil, fmt.Errorf("listen: %w", err)
	}
	if d.adminLn, err = lc.Listen(ctx, "tcp", cfg.AdminListen.String()); err != nil {
		return nil, fmt.Errorf("admin listen: %w", err)
	}
	return d, nil
}

// firstLoad loads the store, seeding an empty embedded store first.
func (d *Daemon) firstLoad(ctx context.Context, sealer state.Sealer) error {
	lctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	snap, err := d.store.Load(lctx)
	if err != nil {
		return fmt.Errorf("load store: %w", err)
	}
	if _, ok := snap.Get(state.DeploymentKey); !ok && isFileStore(d.cfg.Store) {
		// The embedded store belongs to this node: create the deployment
		// keys (and the demo, for a newcomer) on first start.
		mut := state.EnsureDeployment(sealer, rand.Reader)
		if d.cfg.SeedDemo && len(snap.Entries) == 0 {
			mut = state.SeedDemo(sealer, rand.Reader, &d.seeded)
		}
		if _, err := d.store.Update(lctx, mut); err != nil {
			return fmt.Errorf("initialise store: %w", err)
		}
		if snap, err = d.store.Load(lctx); err != nil {
			return fmt.Errorf("load store: %w", err)
		}
	}
	if err := d.reg.Swap(snap); err != nil {
		return fmt.Errorf("load store: %w", err)
	}
	d.snap = snap
	d.metrics.StoreSynced(snap.Revision)
	return nil
}

func isFileStore(u string) bool { return len(u) >= 7 && u[:7] == "file://" }

// Addr is the bound public address; AdminAddr the admin one.
func (d *Daemon) Addr() net.Addr      { return d.ln.Addr() }
func (d *Daemon) AdminAddr() net.Addr { return d.adminLn.Addr() }

// Ready reports whether the node serves: store loaded and not draining.
func (d *Daemon) Ready() bool { return d.reg.Ready() && !d.draining.Load() }

// Run serves until ctx ends, then drains: /readyz turns 503, the listeners
// close after DrainDelay, in-flight requests get DrainTimeout to finish.
func (d *Daemon) Run(ctx context.Context) error {
	defer d.close()
	d.metrics.SetReady(true)
	d.banner()
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	errc := make(chan error, 4)
	var wg sync.WaitGroup
	task := func(name string, fn func() error) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := fn(); err != nil && !errors.Is(err, http.ErrServerClosed) && runCtx.Err() == nil {
				errc <- fmt.Errorf("%s: %w", name, err)
			}
		}()
	}
	task("http", func() error { return d.http1.Serve(d.ln) })
	task("admin", func() error { return d.admin.Serve(d.adminLn) })
	task("store watch", func() error { return d.watch(runCtx) })
	task("replay sweep", func() error { return d.sweep(runCtx) })
	var runErr error
	select {
	case <-ctx.Done():
	case runErr = <-errc:
		d.log.Error("stopping", "err", runErr)
	}
	d.drain()
	cancel()
	wg.Wait()
	return runErr
}

func (d *Daemon) drain() {
	d.draining.Store(true)
	d.metrics.SetReady(false)
	d.log.Info("draining", "delay", d.cfg.DrainDelay)
	time.Sleep(d.cfg.DrainDelay)
	ctx, cancel := context.WithTimeout(context.Background(), d.cfg.DrainTimeout)
	defer cancel()
	if err := d.http1.Shutdown(ctx); err != nil {
		d.log.Warn("http shutdown", "err", err)
	}
	if err := d.admin.Shutdown(ctx); err != nil {
		d.log.Warn("admin shutdown", "err", err)
	}
}

// watch follows the store; a snapshot that does not install leaves the
// last good one serving.
func (d *Daemon) watch(ctx context.Context) error {
	err := d.store.Watch(ctx, d.snap, func(snap *store.Snapshot) {
		if err := d.reg.Swap(snap); err != nil {
			d.log.Warn("store change not applied; serving the last good state", "revision", snap.Revision, "err", err)
			d.storeError()
			return
		}
		d.metrics.StoreSynced(snap.Revision)
		d.log.Info("store change applied", "revision", snap.Revision)
	})
	if ctx.Err() != nil {
		return nil
	}
	return err
}

func (d *Daemon) storeError() {
	if d.metrics != nil {
		d.metrics.StoreError()
	}
}

func (d *Daemon) close() {
	if d.ln != nil {
		d.ln.Close()
	}
	if d.adminLn != nil {
		d.adminLn.Close()
	}
	if d.reg != nil {
		d.reg.Close()
	}
	if d.store != nil {
		d.store.Close()
	}
}

// sweep gives the memory of expired nonces back every second, so idle
// shards of the replay set shrink too.
func (d *Daemon) sweep(ctx context.Context) error {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			d.replay.Sweep(d.opts.Now())
		}
	}
}
