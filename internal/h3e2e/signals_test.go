package h3e2e

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/quic-go/quic-go/http3"

	"github.com/attestd/attestd/internal/testenv"
	"github.com/attestd/attestd/internal/testenv/h3test"
	"github.com/attestd/attestd/internal/testenv/poll"
)

func nodeArgs(s *testenv.Store, c *h3test.Cert, extra ...string) []string {
	return append([]string{"--store", s.URL, "--listen", "127.0.0.1:0", "--tls-listen", "127.0.0.1:0",
		"--admin-listen", "127.0.0.1:0", "--http3-listen", "127.0.0.1:0",
		"--tls-cert", c.CertFile, "--tls-key", c.KeyFile,
		// The loops drive one loopback address hard; limits have their own tests.
		"--challenge-rate", "0", "--attest-rate", "0", "--max-queue-delay", "0"}, extra...)
}

func bases(p *proc) map[string]string {
	return map[string]string{
		"http1": "http://" + p.addrs["listen"],
		"https": "https://" + p.addrs["tls_listen"],
		"http3": "https://" + p.addrs["http3_listen"],
	}
}

// readyWatch polls /readyz and records when it first answered 503.
type readyWatch struct{ first atomic.Int64 }

func (r *readyWatch) at() time.Time {
	if ns := r.first.Load(); ns != 0 {
		return time.Unix(0, ns)
	}
	return time.Time{}
}

// It looks every 5 ms until ctx ends (the process has no other way to
// say when it turned).
func (r *readyWatch) run(ctx context.Context, admin string) {
	hc := &http.Client{Timeout: time.Second}
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		resp, err := hc.Get("http://" + admin + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusServiceUnavailable && r.first.Load() == 0 {
				r.first.Store(time.Now().UnixNano())
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// TestSIGTERMDrain sends SIGTERM to the real daemon binary while clients
// attest in steady loops over HTTP/1.1 (plaintext and TLS) and HTTP/3:
// /readyz turns 503 first and requests keep succeeding through the drain
// delay; after it, new connections are refused; no request fails in any
// other way; the process says STOPPING=1 and exits 0.
func TestSIGTERMDrain(t *testing.T) {
	f := testenv.NewFixture(t)
	st := testenv.NewStore(t, f)
	c := h3test.NewCert(t, t.TempDir(), "node")
	// The drain delay leaves each loop, on a loaded machine too, time to
	// see /readyz turn 503 and then complete requests before the
	// listeners close.
	p := startProc(t, spec{Args: nodeArgs(st, c, "--drain-delay", "3s", "--drain-timeout", "5s")})

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var rw readyWatch
	go rw.run(ctx, p.addrs["admin"])
	outcomes := map[string]*outcome{}
	var wg sync.WaitGroup
	for name, cl := range clients(t, f, c.Pool, bases(p)) {
		o := &outcome{}
		outcomes[name] = o
		for i := 0; i < 2; i++ {
			wg.Add(1)
			go func() { defer wg.Done(); loop(ctx, name, cl, o, rw.at, 100_000) }()
		}
	}
	waitAllOK(t, outcomes, 10*time.Second)
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	p.waitNote(t, "STOPPING=1", 5*time.Second)
	code := p.wait(t, 15*time.Second)
	// Let every loop meet the closed listeners (each counts a refusal); the
	// counts are only logged.
	poll.For(5*time.Second, func() bool {
		for _, o := range outcomes {
			if o.refused.Load() == 0 {
				return false
			}
		}
		return true
	})
	cancel()
	wg.Wait()
	if code != 0 {
		t.Errorf("exit code %d after SIGTERM, want 0", code)
	}
	if rw.at().IsZero() {
		t.Error("/readyz never answered 503 during the drain")
	}
	for name, o := range outcomes {
		t.Logf("%s: %d attests ok (%d started after /readyz 503), %d refused after 503, %d failed",
			name, o.ok.Load(), o.okAfter.Load(), o.refused.Load(), len(o.failures))
		for _, f := range o.failures {
			t.Errorf("%s: failed request: %s", name, f)
		}
		if o.ok.Load() == 0 || o.okAfter.Load() == 0 {
			t.Errorf("%s: want successes before and after /readyz turned 503 (the drain delay)", name)
		}
	}
	logs := p.stderrText()
	for _, want := range []string{`"msg":"draining"`, `"msg":"drained"`} {
		if !strings.Contains(logs, want) {
			t.Errorf("log has no %s", want)
		}
	}
}

// TestSIGHUPReload reloads the real daemon binary under load: the
// certificate files and the configuration file change, SIGHUP swaps them
// in, new handshakes (TLS and QUIC) present the new certificate, the
// configuration's log level applies, and no request fails. A second
// reload with a broken certificate is refused and the node keeps serving
// the good one. systemd hears RELOADING=1 with MONOTONIC_USEC, then
// READY=1.
func TestSIGHUPReload(t *testing.T) {
	f := testenv.NewFixture(t)
	st := testenv.NewStore(t, f)
	dir := t.TempDir()
	a, b := h3test.NewCert(t, dir, "node-a"), h3test.NewCert(t, dir, "node-b")
	pool := x509.NewCertPool()
	pool.AddCert(a.Leaf)
	pool.AddCert(b.Leaf)
	conf := filepath.Join(dir, "config.yaml")
	writeFile(t, conf, "log_level: info\ndrain_delay: 0s\n")
	p := startProc(t, spec{Args: append(nodeArgs(st, a), "--config", conf)})

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	never := func() time.Time { return time.Time{} } // readiness never drops: every error fails
	outcomes := map[string]*outcome{}
	var wg sync.WaitGroup
	for name, cl := range clients(t, f, pool, bases(p)) {
		o := &outcome{}
		outcomes[name] = o
		for i := 0; i < 2; i++ {
			wg.Add(1)
			go func() { defer wg.Done(); loop(ctx, name, cl, o, never, 100_000) }()
		}
	}
	waitAllOK(t, outcomes, 10*time.Second) // the reloads happen under load
	if cn := servedCN(t, p, pool); cn["https"] != "node-a" || cn["http3"] != "node-a" {
		t.Fatalf("before reload: certificates %v", cn)
	}

	b.Install(t, a)
	writeFile(t, conf, "log_level: debug\ndrain_delay: 0s\n")
	if err := p.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	if n := p.waitNote(t, "RELOADING=1", 5*time.Second); !strings.Contains(n, "MONOTONIC_USEC=") {
		t.Errorf("RELOADING=1 without MONOTONIC_USEC: %q", n)
	}
	p.waitNote(t, "READY=1", 5*time.Second)
	if l := p.waitLog(t, "reloaded", 5*time.Second); l["log_level"] != "debug" {
		t.Errorf("reloaded log: %v", l)
	}
	if cn := waitCN(t, p, pool, "node-b", 10*time.Second); cn["https"] != "node-b" || cn["http3"] != "node-b" {
		t.Errorf("after reload: certificates %v, want node-b", cn)
	}

	writeFile(t, a.CertFile, "not a certificate")
	if err := p.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	p.waitLog(t, "reload failed; the previous configuration keeps serving", 5*time.Second)
	p.waitNote(t, "READY=1", 5*time.Second) // the failed reload is over
	if cn := servedCN(t, p, pool); cn["https"] != "node-b" || cn["http3"] != "node-b" {
		t.Errorf("after a failed reload: certificates %v, want node-b still", cn)
	}
	cancel()
	wg.Wait()
	for name, o := range outcomes {
		t.Logf("%s: %d attests ok across two reloads, %d failed", name, o.ok.Load(), len(o.failures))
		for _, f := range o.failures {
			t.Errorf("%s: failed request: %s", name, f)
		}
		if o.ok.Load() == 0 {
			t.Errorf("%s: no request succeeded", name)
		}
	}
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := p.wait(t, 15*time.Second); code != 0 {
		t.Errorf("exit code %d", code)
	}
}

// waitAllOK waits, at most d, until the loop of every transport has had a
// request succeed.
func waitAllOK(t *testing.T, outcomes map[string]*outcome, d time.Duration) {
	t.Helper()
	var missing []string
	if poll.For(d, func() bool {
		missing = missing[:0]
		for name, o := range outcomes {
			if o.ok.Load() == 0 {
				missing = append(missing, name)
			}
		}
		return len(missing) == 0
	}) {
		return
	}
	for name, o := range outcomes {
		o.mu.Lock()
		t.Logf("%s: %d ok, failures %q", name, o.ok.Load(), o.failures)
		o.mu.Unlock()
	}
	t.Fatalf("no request succeeded within %v over %v", d, missing)
}

// waitCN polls servedCN, at most d, until both transports present the
// certificate named cn; it returns the last answer.
func waitCN(t *testing.T, p *proc, pool *x509.CertPool, cn string, d time.Duration) map[string]string {
	t.Helper()
	var got map[string]string
	poll.For(d, func() bool { got = servedCN(t, p, pool); return got["https"] == cn && got["http3"] == cn })
	return got
}

// servedCN makes a new TLS connection and a new QUIC connection and
// returns the common name of the certificate each was shown.
func servedCN(t *testing.T, p *proc, pool *x509.CertPool) map[string]string {
	t.Helper()
	out := map[string]string{}
	conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 3 * time.Second}, "tcp", p.addrs["tls_listen"], &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"})
	if err != nil {
		t.Fatalf("tls dial: %v", err)
	}
	out["https"] = conn.ConnectionState().PeerCertificates[0].Subject.CommonName
	conn.Close()
	tr := &http3.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}
	defer tr.Close()
	resp, err := (&http.Client{Transport: tr, Timeout: 5 * time.Second}).Get("https://" + p.addrs["http3_listen"] + "/v1/accounts/none/jwks.json")
	if err != nil {
		t.Fatalf("http3 get: %v", err)
	}
	resp.Body.Close()
	out["http3"] = resp.TLS.PeerCertificates[0].Subject.CommonName
	return out
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}
