package daemon

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"
)

// Run serves until ctx ends, then drains: /readyz turns 503, the listeners
// close after DrainDelay, in-flight requests get DrainTimeout to finish.
// It tells systemd READY=1 once every listener serves (they were bound and
// the store loaded by New), and STOPPING=1 when the drain begins.
func (d *Daemon) Run(ctx context.Context) error {
	defer d.close()
	d.metrics.SetReady(true)
	d.banner()
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	errc := make(chan error, 16)
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
	if d.ln != nil {
		task("http", func() error { return d.http1.Serve(d.ln) })
	}
	if d.tlsLn != nil {
		task("https", func() error { return d.http1.Serve(d.tlsLn) })
	}
	if d.h3 != nil {
		task("http3", d.h3.serve)
	}
	task("admin", func() error { return d.admin.Serve(d.adminLn) })
	task("store watch", func() error { return d.watch(runCtx) })
	task("store health", func() error { return d.watchHealth(runCtx) })
	task("replay sweep", func() error { return d.sweep(runCtx) })
	task("android status list", func() error { return d.runStatus(runCtx) })
	task("load shedding", func() error { return d.limits.Run(runCtx) })
	if d.opts.Watchdog > 0 {
		task("watchdog", func() error { return d.watchdog(runCtx, d.opts.Watchdog, d.probe) })
	}
	if err := d.notify("READY=1"); err != nil {
		d.log.Warn("systemd notify", "err", err)
	}
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

// drain: /readyz answers 503 at once (so a health check withdraws the
// route), the public listeners stop accepting after the drain delay, the
// requests in flight get the drain timeout to finish, and the admin
// listener closes last.
func (d *Daemon) drain() {
	_ = d.notify("STOPPING=1")
	d.draining.Store(true)
	d.metrics.SetReady(false)
	delay := time.Duration(d.live.drainDelay.Load())
	d.log.Info("draining", "delay", delay)
	time.Sleep(delay)
	ctx, cancel := context.WithTimeout(context.Background(), time.Duration(d.live.drainTimeout.Load()))
	defer cancel()
	var wg sync.WaitGroup
	if d.h3 != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := d.h3.shutdown(ctx); err != nil {
				d.log.Warn("http3 shutdown", "err", err)
			}
		}()
	}
	if err := d.http1.Shutdown(ctx); err != nil {
		d.log.Warn("http shutdown", "err", err)
	}
	// fasthttp's Shutdown only closes the listeners Serve has taken up: a
	// Serve that starts after it (a stop right at start) would accept
	// forever. Closed here, its Accept fails and it returns.
	for _, ln := range []net.Listener{d.ln, d.tlsLn} {
		if ln != nil {
			_ = ln.Close()
		}
	}
	wg.Wait()
	if err := d.admin.Shutdown(ctx); err != nil {
		d.log.Warn("admin shutdown", "err", err)
	}
	d.log.Info("drained")
}

// watch follows the store; a snapshot that does not install leaves the
// last good one serving (masterkeys.Follower.Apply: one sealed under a
// master key the node lacks first makes it re-read its master key file,
// and Follower.Run retries it while it waits). New session-ticket keys
// take effect at once.
func (d *Daemon) watch(ctx context.Context) error {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); d.follower.Run(done) }()
	defer wg.Wait()
	defer close(done)
	err := d.store.Watch(ctx, d.snap, d.follower.Apply)
	if ctx.Err() != nil {
		return nil
	}
	return err
}

// deploymentChanged rotates the TLS session-ticket keys when the store's
// changed. The QUIC keys are fixed for the life of the UDP socket: a
// change is logged, and takes effect on restart.
func (d *Daemon) deploymentChanged() {
	if d.tls == nil {
		return
	}
	dep, err := d.reg.Deployment()
	if err != nil {
		return
	}
	changed, err := d.tls.setTicketKeys(dep.TLSSessionTickets)
	switch {
	case err != nil:
		d.log.Warn("tls session-ticket keys not rotated; keeping the current ones", "err", err)
	case changed:
		d.log.Info("tls session-ticket keys rotated", "active", dep.TLSSessionTickets.Active)
	}
	if d.h3 != nil && !d.h3.sameKeys(dep) {
		d.log.Warn("the store's QUIC stateless-reset or token key changed; restart the node to use it")
	}
}

func (d *Daemon) storeError() {
	if d.metrics != nil {
		d.metrics.StoreError()
	}
}

func (d *Daemon) close() {
	for _, ln := range []net.Listener{d.ln, d.tlsLn, d.adminLn} {
		if ln != nil {
			ln.Close()
		}
	}
	if d.h3 != nil {
		d.h3.close()
	}
	if d.profiler != nil {
		if err := d.profiler.Stop(); err != nil {
			d.log.Warn("pyroscope stop", "err", err)
		}
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
	return every(ctx, time.Second, func() { d.replay.Sweep(d.opts.Now()) })
}

// every calls fn every interval until ctx ends, and then returns nil: the
// body of a periodic task.
func every(ctx context.Context, interval time.Duration, fn func()) error {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			fn()
		}
	}
}
