package androidstatus_test

import (
	"context"
	"encoding/json"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/attestd/attestd/internal/androidstatus"
	"github.com/attestd/attestd/verify/androidkey"
)

var t0 = time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)

// statusServer is a real HTTP server on loopback whose answer a test
// changes while a keeper fetches from it.
type statusServer struct {
	*httptest.Server
	h    atomic.Pointer[http.HandlerFunc]
	hits atomic.Int64
}

func newStatusServer(t *testing.T, tls bool) *statusServer {
	t.Helper()
	s := &statusServer{}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.hits.Add(1)
		(*s.h.Load())(w, r)
	})
	if tls {
		s.Server = httptest.NewTLSServer(h)
	} else {
		s.Server = httptest.NewServer(h)
	}
	t.Cleanup(s.Close)
	s.serve(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "no list yet", http.StatusServiceUnavailable)
	})
	return s
}

func (s *statusServer) serve(h http.HandlerFunc) { s.h.Store(&h) }

// serveList answers 200 with body and the Cache-Control header cc ("":
// none).
func (s *statusServer) serveList(body []byte, cc string) {
	s.serve(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if cc != "" {
			w.Header().Set("Cache-Control", cc)
		}
		w.Write(body)
	})
}

// listOf is a status list in Google's format: serial (hex) → status.
func listOf(t testing.TB, entries map[string]string) []byte {
	t.Helper()
	doc := map[string]map[string]map[string]string{"entries": {}}
	for s, st := range entries {
		doc["entries"][s] = map[string]string{"status": st, "reason": "KEY_COMPROMISE"}
	}
	b, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func source(t testing.TB, raw string) androidstatus.Source {
	t.Helper()
	s, err := androidstatus.ParseSource(raw)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// rig is a keeper on a fake clock that records what it installs and each
// attempt's outcome.
type rig struct {
	k        *androidstatus.Keeper
	clk      *fakeClock
	attempts chan error
	mu       sync.Mutex
	list     *androidkey.StatusList
	at       time.Time
	installs int
	cancel   context.CancelFunc
	done     chan error
}

func newRig(t *testing.T, cfg androidstatus.Config) *rig {
	t.Helper()
	r := &rig{clk: newFakeClock(t0), attempts: make(chan error, 64)}
	if cfg.Clock == nil {
		cfg.Clock = r.clk
	} else {
		r.clk = cfg.Clock.(*fakeClock)
	}
	if cfg.Jitter == nil {
		cfg.Jitter = func() float64 { return 0 }
	}
	cfg.Install = func(l *androidkey.StatusList, at time.Time) {
		r.mu.Lock()
		r.list, r.at = l, at
		r.installs++
		r.mu.Unlock()
	}
	cfg.Attempted = func(err error) { r.attempts <- err }
	if cfg.Timeout == 0 {
		cfg.Timeout = 2 * time.Second
	}
	k, err := androidstatus.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	r.k = k
	return r
}

// start runs Start (draining the attempt it reports) and then Run.
func (r *rig) start(t *testing.T) error {
	t.Helper()
	err := r.k.Start(context.Background())
	for len(r.attempts) > 0 {
		<-r.attempts
	}
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel, r.done = cancel, make(chan error, 1)
	go func() { r.done <- r.k.Run(ctx) }()
	t.Cleanup(r.stop)
	return err
}

func (r *rig) stop() {
	if r.cancel != nil {
		r.cancel()
		<-r.done
		r.cancel = nil
	}
}

// tick lets the keeper's next wait elapse and returns its delay and the
// outcome of the attempt that follows.
func (r *rig) tick(t *testing.T) (time.Duration, error) {
	t.Helper()
	d := r.clk.nextWait(t)
	r.clk.Advance(d)
	select {
	case err := <-r.attempts:
		return d, err
	case <-time.After(30 * time.Second):
		t.Fatal("no attempt within 30 s of the keeper's timer")
	}
	return 0, nil
}

// revoked reports whether the installed list names serial (hex).
func (r *rig) revoked(t *testing.T, serial string) bool {
	t.Helper()
	n, ok := new(big.Int).SetString(serial, 16)
	if !ok {
		t.Fatalf("serial %q", serial)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	_, found := r.list.Lookup(n)
	return found
}

func (r *rig) installed() (*androidkey.StatusList, time.Time, int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.list, r.at, r.installs
}

func cachePath(t *testing.T) string { return filepath.Join(t.TempDir(), "android-status.json") }

func urlOf(t *testing.T, raw string) *url.URL {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u
}
