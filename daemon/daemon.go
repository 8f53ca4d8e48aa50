// Package daemon wires the edge: configuration → store → registry → core →
// listeners, run as one task list that stops everything on the first error,
// with readiness, draining and live store updates.
//
// The master keys that open the secrets sealed at rest come from the master
// key file (--master-key, or a file store's own master.key) and follow it
// (internal/masterkeys: re-read on a reload, SIGHUP, and when a store
// change is sealed under a key the node does not hold). Every request of
// the public listeners gets the node's request id and an access line from
// internal/accesslog, which the daemon hands both transports.
//
// Every store state is authenticated before it is served (PROTOCOL §8,
// 1.1; internal/recordauth): a state whose records do not verify under the
// master key is refused, the last one that did keeps serving, and the
// refusal is logged, counted (attestd_store_refused_total) and shown by
// /readyz. At start a store whose records are not authenticated at all
// (written before attestd 1.1) is refused with the command to run.
//
// It is the only package that knows every other one. cmd/attestd calls Main.
package daemon

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/grafana/pyroscope-go"

	"github.com/attestd/attestd/internal/androidstatus"
	"github.com/attestd/attestd/internal/api"
	"github.com/attestd/attestd/internal/attest"
	"github.com/attestd/attestd/internal/fastapi"
	"github.com/attestd/attestd/internal/limit"
	"github.com/attestd/attestd/internal/masterkeys"
	"github.com/attestd/attestd/internal/metrics"
	"github.com/attestd/attestd/internal/platformcheck"
	"github.com/attestd/attestd/internal/proxy"
	"github.com/attestd/attestd/internal/recordauth"
	"github.com/attestd/attestd/internal/registry"
	"github.com/attestd/attestd/internal/replay"
	"github.com/attestd/attestd/internal/state"
	"github.com/attestd/attestd/store"
	"github.com/attestd/attestd/store/open"
)

// Options are the daemon's process-level dependencies. The zero value of
// each is fine for tests: no systemd, no reload source, the real clock.
type Options struct {
	Stdout, Stderr io.Writer
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Listeners are sockets already bound (systemd socket activation), by
	// name: "http", "https", "admin". Missing ones are bound from Config.
	Listeners map[string]net.Listener
	// Notify sends a state to the service manager (READY=1, RELOADING=1,
	// STOPPING=1, WATCHDOG=1); nil: nothing is sent.
	Notify func(state string) error
	// Watchdog is the service manager's watchdog interval (0: none).
	Watchdog time.Duration
	// Reload re-reads the configuration on Reload (SIGHUP); nil: a reload
	// re-reads the certificate only.
	Reload func() (Config, error)
	// ReadFile reads /proc for the UDP buffer check (default os.ReadFile).
	ReadFile func(string) ([]byte, error)
}

func (o *Options) fill() {
	if o.Stdout == nil {
		o.Stdout = io.Discard
	}
	if o.Stderr == nil {
		o.Stderr = io.Discard
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Notify == nil {
		o.Notify = func(string) error { return nil }
	}
	if o.ReadFile == nil {
		o.ReadFile = os.ReadFile
	}
}

// Daemon is one running edge node.
type Daemon struct {
	cfg      Config
	opts     Options
	version  string
	log      *slog.Logger
	level    *slog.LevelVar
	store    store.Store // authenticated writes (a *recordauth.Store)
	raw      store.Store // the store underneath, for its optional interfaces
	reg      *registry.Registry
	records  *recordMetrics
	metrics  *metrics.Metrics
	own      *daemonMetrics
	verdicts *verdictLog
	edge     *attest.Edge
	replay   *replay.Set
	platform *platformcheck.Checker
	status   *androidstatus.Keeper // nil without --android-status
	limits   *limit.Limiter
	proxy    *proxy.Proxy
	http1    *fastapi.Server
	h3       *http3Server // nil without HTTP/3
	tls      *tlsState    // nil without a certificate
	admin    *http.Server
	ln       net.Listener // plaintext; nil when off
	tlsLn    net.Listener // HTTPS; nil when off
	adminLn  net.Listener
	probe    *api.Handler // the watchdog's self-requests
	snap     *store.Snapshot
	draining atomic.Bool
	seeded   bool
	profiler *pyroscope.Profiler // nil: profiling off
	reloadMu sync.Mutex          // serialises reloads; guards live
	live     liveConfig
	// keys are the master keys; follower re-reads them on reload and when
	// a store change is sealed under a key they lack, and installs every
	// store change after the first load (its Swap calls and key changes
	// are serialised).
	keys     *masterkeys.Keys
	follower *masterkeys.Follower
}

// liveConfig are the settings a reload changes while serving.
type liveConfig struct {
	drainDelay, drainTimeout atomic.Int64
}

func (d *Daemon) notify(state string) error { return d.opts.Notify(state) }

// New opens the store, loads it, builds every component and binds the
// listeners; Run serves. The first load is fatal on error.
func New(ctx context.Context, cfg Config, opts Options) (_ *Daemon, err error) {
	opts.fill()
	d := &Daemon{cfg: cfg, opts: opts, version: version()}
	d.log, d.level = newLogger(cfg, opts.Stderr)
	d.live.drainDelay.Store(int64(cfg.DrainDelay))
	d.live.drainTimeout.Store(int64(cfg.DrainTimeout))
	defer func() {
		if err != nil {
			d.close()
		}
	}()
	st, _, err := open.Open(ctx, cfg.Store, open.Options{
		MasterKeyFile: cfg.MasterKey,
		OnError:       func(err error) { d.log.Warn("store watch", "err", err); d.storeError() },
		Etcd:          etcdOptions(cfg, opts.Now),
		Accept:        d.acceptSnapshot,
		Now:           opts.Now,
	})
	if err != nil {
		return nil, fmt.Errorf("open store: %w", d.withHints(err))
	}
	d.store, d.raw = st, st.(*recordauth.Store).Unwrap()
	// The master key file is read again here, by the path a reload and a
	// missing key re-read it from (open.Open created it if it had to).
	if d.keys, err = loadMasterKeys(cfg); err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	lkg, floor, err := d.lastKnownGood()
	if err != nil {
		return nil, fmt.Errorf("load store: %w", err)
	}
	if d.reg, err = registry.New(registry.Config{Sealer: d.keys, Records: d.keys, Floor: floor}); err != nil {
		return nil, err
	}
	d.follower = masterkeys.NewFollower(d.keys, masterkeys.Config{Registry: d.reg, Now: opts.Now, Log: d.log,
		Applied: d.applied, Failed: d.storeError, Refused: d.refuse})
	d.metrics = metrics.New(opts.Now, d.reg.CacheStats)
	d.own = newDaemonMetrics(d.metrics.Registry(), d.version)
	d.records = newRecordMetrics(d.metrics.Registry())
	if h, ok := d.raw.(store.Health); ok {
		d.metrics.SetContactSource(func() time.Time { return h.Health().LastContact })
	}
	if err := d.firstLoad(ctx, lkg); err != nil {
		if errors.Is(err, registry.ErrNoDeployment) {
			err = fmt.Errorf("%w: initialise it once with: %s", err, d.ctlHint("init"))
		}
		return nil, err
	}
	d.replay, err = replay.New(replay.Config{MaxEntries: cfg.ReplayMax, Window: attest.MaxNonceTTL + time.Minute})
	if err != nil {
		return nil, err
	}
	d.verdicts = newVerdictLog(d.metrics, d.log, cfg.VerdictLogEvery)
	if d.platform, err = d.newPlatform(cfg, d.reg); err != nil {
		return nil, err
	}
	if err := d.startStatus(ctx); err != nil {
		return nil, err
	}
	d.metrics.Registry().MustRegister(newStatusCollector(d))
	if d.limits, err = limit.New(cfg.Limits); err != nil {
		return nil, err
	}
	d.metrics.Registry().MustRegister(d.limits.Collector())
	if d.edge, err = attest.New(attest.Config{
		Issuer: cfg.Issuer, NonceTTL: cfg.NonceTTL, Now: opts.Now, Rand: rand.Reader,
		Registry: d.reg, Replay: d.replay, Observer: d.verdicts, Platform: d.platform, Limits: d.limits,
	}); err != nil {
		return nil, err
	}
	if err := d.buildServers(ctx); err != nil {
		return nil, err
	}
	if d.profiler, err = startProfiling(cfg, d.version); err != nil {
		return nil, err
	}
	return d, nil
}

// firstLoad loads the store, seeding an empty embedded store first
// (authenticated, under the master key). A state whose records do not
// verify stops the start, unless the node has a last-known-good snapshot
// that does (lkg): that serves, and the refusal shows as at run time.
func (d *Daemon) firstLoad(ctx context.Context, lkg *store.Snapshot) error {
	lctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	snap, err := d.store.Load(lctx)
	if err != nil {
		return fmt.Errorf("load store: %w", err)
	}
	if _, ok := snap.Get(state.DeploymentKey); !ok && isFileStore(d.cfg.Store) {
		// The embedded store belongs to this node: create the deployment
		// keys (and the demo, for a newcomer) on first start.
		mut := state.EnsureDeployment(d.keys, rand.Reader)
		if d.cfg.SeedDemo && len(snap.Entries) == 0 {
			mut = state.SeedDemo(d.keys, rand.Reader, &d.seeded)
		}
		if _, err := d.store.(*recordauth.Store).WithKeys(d.keys).Update(lctx, mut); err != nil {
			return fmt.Errorf("initialise store: %w%s", err, d.authHint(err))
		}
		if snap, err = d.store.Load(lctx); err != nil {
			return fmt.Errorf("load store: %w", err)
		}
	}
	if err := d.reg.Swap(snap); err != nil {
		if lkg == nil || lkg == snap || recordauth.Reason(err) == "" {
			return fmt.Errorf("load store: %w%s", err, d.authHint(err))
		}
		if lerr := d.reg.Swap(lkg); lerr != nil {
			return fmt.Errorf("load store: %w; and the snapshot file: %w", err, lerr)
		}
		d.refuse(snap, err)
		snap = lkg
	} else {
		d.installed()
	}
	d.snap = snap
	d.metrics.StoreSynced(snap.Revision)
	return nil
}

func isFileStore(u string) bool { return len(u) >= 7 && u[:7] == "file://" }

// Ready reports whether the node serves: store loaded and not draining.
func (d *Daemon) Ready() bool { return d.reg.Ready() && !d.draining.Load() }

// loadMasterKeys reads the master key file the store was opened with:
// --master-key, else a file store's own <dir>/master.key (which store/open
// created if missing).
func loadMasterKeys(cfg Config) (*masterkeys.Keys, error) {
	path, err := open.MasterKeyPath(cfg.Store, cfg.MasterKey)
	if err != nil {
		return nil, err
	}
	return masterkeys.Load(path)
}

// etcdOptions are the --etcd-* settings with the node's snapshot and clock.
func etcdOptions(cfg Config, now func() time.Time) open.EtcdOptions {
	e := cfg.Etcd
	e.SnapshotFile, e.Now = cfg.Snapshot, now
	return e
}
