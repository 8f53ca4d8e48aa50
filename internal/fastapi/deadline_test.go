package fastapi

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttputil"

	"github.com/attestd/attestd/internal/api"
	"github.com/attestd/attestd/internal/testenv/poll"
)

// The timeout tests run the server on real loopback TCP (and TLS) with
// short timeouts, and check that slow clients are cut off when their
// deadline in force passes: not later (the bound), and not earlier (a
// deadline left early on the connection is resumed, not enforced).

// slack is how late a cut-off may come on a loaded machine (2 cores
// running the race detector and benchmarks beside it took over 1.5 s). A
// bound plus slack stays under the length of every trickle (about 4 s),
// so a cut that passes is the deadline's, not the trickle ending.
const slack = 2500 * time.Millisecond

type testServer struct {
	s    *Server
	addr string
	tls  *tls.Config // the client's, when the server speaks TLS
}

// tlsMode: "" plain; "beneath" TLSListener (as the daemon builds it);
// "over" TLS over the bare listener (deadlines set on every change).
func startServer(t *testing.T, cfg Config, tlsMode string) *testServer {
	t.Helper()
	if cfg.Handler == nil {
		cfg.Handler = api.New(api.Config{}) // answers 404 to every path used here
	}
	s := New(cfg)
	raw, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ts := &testServer{s: s, addr: raw.Addr().String()}
	ln := raw
	switch tlsMode {
	case "beneath":
		srvCfg, cliCfg := testTLS(t)
		ln, ts.tls = TLSListener(raw, srvCfg), cliCfg
	case "over":
		srvCfg, cliCfg := testTLS(t)
		ln, ts.tls = tls.NewListener(raw, srvCfg), cliCfg
	}
	done := make(chan error, 1)
	go func() { done <- s.Serve(ln) }()
	t.Cleanup(func() {
		_ = s.Shutdown(t.Context())
		_ = raw.Close()
		<-done
	})
	return ts
}

func (ts *testServer) dial(t *testing.T) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", ts.addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if ts.tls != nil {
		tc := tls.Client(c, ts.tls)
		if err := tc.Handshake(); err != nil {
			t.Fatal(err)
		}
		return tc
	}
	return c
}

// closedAt reads c to its end (whatever the server answers before
// closing) and returns when that happened; it fails after limit.
func closedAt(t *testing.T, c net.Conn, limit time.Duration) <-chan time.Time {
	t.Helper()
	at := make(chan time.Time, 1)
	go func() {
		_ = c.SetReadDeadline(time.Now().Add(limit))
		_, err := io.Copy(io.Discard, c)
		if errors.Is(err, os.ErrDeadlineExceeded) {
			close(at)
			return
		}
		at <- time.Now()
	}()
	return at
}

// idleFor keeps the connection idle for d, on the wall clock, and checks
// that the server keeps it open meanwhile: a read that must end on the
// client's own deadline, with nothing received and no close. A pause on
// the wall clock IS what these tests are about: the server's deadlines are
// real socket deadlines (no fake clock reaches them), and no event marks
// "the server's deadline has run this far"; so the client idles for real,
// and this is the one place it does.
func idleFor(t *testing.T, c net.Conn, d time.Duration) {
	t.Helper()
	if err := c.SetReadDeadline(time.Now().Add(d)); err != nil {
		t.Fatal(err)
	}
	var b [1]byte
	n, err := c.Read(b[:])
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("idle for %v: the server closed or wrote (%d bytes, %v)", d, n, err)
	}
	_ = c.SetReadDeadline(time.Time{})
}

// roundTrip sends one request and reads its answer.
func roundTrip(t *testing.T, c net.Conn, br *bufio.Reader, path string) {
	t.Helper()
	if _, err := io.WriteString(c, "GET "+path+" HTTP/1.1\r\nHost: attestd.test\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	_ = c.SetReadDeadline(time.Time{})
}

// trickle writes chunk every step until stop is closed or a write fails
// (at most n times).
func trickle(c net.Conn, chunk string, step time.Duration, n int, stop <-chan time.Time) {
	for range n {
		select {
		case <-stop:
			return
		case <-time.After(step):
		}
		if _, err := io.WriteString(c, chunk); err != nil {
			return
		}
	}
}

func checkCut(t *testing.T, what string, from time.Time, at <-chan time.Time, bound time.Duration) {
	t.Helper()
	end, ok := <-at
	if !ok {
		t.Fatalf("%s: not cut off within %v", what, bound+slack)
	}
	d := end.Sub(from)
	t.Logf("%s: cut off after %v (bound %v)", what, d.Round(time.Millisecond), bound)
	if d < bound*9/10 {
		t.Errorf("%s: cut off after %v, before its bound %v", what, d, bound)
	}
	if d > bound+slack {
		t.Errorf("%s: cut off after %v, bound %v", what, d, bound)
	}
}

func TestSlowHeadersCutOff(t *testing.T) {
	const r = 500 * time.Millisecond
	for _, mode := range []string{"", "beneath", "over"} {
		t.Run("tls="+mode, func(t *testing.T) {
			ts := startServer(t, Config{ReadTimeout: r, IdleTimeout: 10 * time.Second}, mode)
			start := time.Now()
			c := ts.dial(t)
			at := closedAt(t, c, r+slack)
			if _, err := io.WriteString(c, "GET /nope HTTP/1.1\r\nHost: attestd.test\r\n"); err != nil {
				t.Fatal(err)
			}
			// A header line every 50 ms: a slowloris, never done.
			go trickle(c, "X-Slow: 1\r\n", 50*time.Millisecond, 100, at)
			checkCut(t, "slow headers (first request)", start, at, r)
		})
	}
	t.Run("tls handshake never sent", func(t *testing.T) {
		ts := startServer(t, Config{ReadTimeout: r, IdleTimeout: 10 * time.Second}, "beneath")
		start := time.Now()
		c, err := net.Dial("tcp", ts.addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		checkCut(t, "no ClientHello", start, closedAt(t, c, r+slack), r)
	})
}

// TestSlowRequestOnKeptAliveConn: after one request, a pause shorter than
// ReadTimeout, then a request that stalls or trickles: the deadline left
// on the connection (from the first request) passes during the second
// one, which is still due only ReadTimeout after its first byte.
func TestSlowRequestOnKeptAliveConn(t *testing.T) {
	const r = 600 * time.Millisecond
	for _, mode := range []string{"", "beneath", "over"} {
		for _, kind := range []string{"stall mid-body", "trickle body", "trickle headers"} {
			t.Run("tls="+mode+"/"+kind, func(t *testing.T) {
				ts := startServer(t, Config{ReadTimeout: r, IdleTimeout: 10 * time.Second}, mode)
				c := ts.dial(t)
				br := bufio.NewReader(c)
				// Idle pauses shorter than ReadTimeout between its
				// requests (idleFor: on the wall clock, on purpose).
				roundTrip(t, c, br, "/nope")
				idleFor(t, c, r*2/3)
				roundTrip(t, c, br, "/nope") // idle longer than what was left of the first deadline
				idleFor(t, c, r/2)
				start := time.Now()
				at := closedAt(t, c, r+slack)
				switch kind {
				case "stall mid-body":
					if _, err := io.WriteString(c, "POST /nope HTTP/1.1\r\nHost: attestd.test\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"a\":"); err != nil {
						t.Fatal(err)
					}
				case "trickle body":
					if _, err := io.WriteString(c, "POST /nope HTTP/1.1\r\nHost: attestd.test\r\nContent-Length: 100\r\n\r\n"); err != nil {
						t.Fatal(err)
					}
					go trickle(c, "x", 40*time.Millisecond, 99, at)
				case "trickle headers":
					if _, err := io.WriteString(c, "GET /nope HTTP/1.1\r\n"); err != nil {
						t.Fatal(err)
					}
					go trickle(c, "X-Slow: 1\r\n", 40*time.Millisecond, 100, at)
				}
				checkCut(t, kind, start, at, r)
			})
		}
	}
}

// TestIdleTimeout: a kept-alive connection idle longer than ReadTimeout
// (but not IdleTimeout) is still served; one idle past IdleTimeout is
// closed.
func TestIdleTimeout(t *testing.T) {
	const r, idle = 300 * time.Millisecond, 1200 * time.Millisecond
	for _, mode := range []string{"", "beneath", "over"} {
		t.Run("tls="+mode, func(t *testing.T) {
			ts := startServer(t, Config{ReadTimeout: r, IdleTimeout: idle}, mode)
			c := ts.dial(t)
			br := bufio.NewReader(c)
			for range 3 {
				roundTrip(t, c, br, "/nope")
				idleFor(t, c, 2*r) // past ReadTimeout, short of IdleTimeout: still open
			}
			roundTrip(t, c, br, "/nope")
			start := time.Now()
			checkCut(t, "idle", start, closedAt(t, c, idle+slack), idle)
		})
	}
}

// TestSlowReaderCutOff: a client that sends requests and never reads the
// answers fills the socket buffers; the server's write is cut off within
// ReadTimeout+WriteTimeout of the request, and the connection closed.
func TestSlowReaderCutOff(t *testing.T) {
	const r, w = 300 * time.Millisecond, 300 * time.Millisecond
	big := make([]byte, 1<<20)
	for _, mode := range []string{"", "beneath"} {
		t.Run("tls="+mode, func(t *testing.T) {
			ts := startServer(t, Config{ReadTimeout: r, WriteTimeout: w, IdleTimeout: 10 * time.Second,
				Extra: func(ctx *fasthttp.RequestCtx) bool { ctx.SetBody(big); return true }}, mode)
			c := ts.dial(t)
			if tc, ok := c.(*net.TCPConn); ok {
				_ = tc.SetReadBuffer(4096)
			}
			start := time.Now()
			// 32 MiB of answers asked for, none read.
			if _, err := io.WriteString(c, strings.Repeat("GET /big HTTP/1.1\r\nHost: attestd.test\r\n\r\n", 32)); err != nil {
				t.Fatal(err)
			}
			poll.Until(t, r, "the connection served", func() bool { return ts.s.srv.GetOpenConnectionsCount() > 0 })
			poll.Until(t, time.Until(start.Add(r+w+slack)), "a client that reads nothing cut off", func() bool {
				return ts.s.srv.GetOpenConnectionsCount() == 0
			})
			d := time.Since(start)
			t.Logf("slow reader: cut off after %v (bound %v)", d.Round(time.Millisecond), r+w)
		})
	}
}

// TestDeadlineResume: a deadline left early on the connection is
// resumed by Read and Write (a write cut in the middle continues where it
// stopped); once the deadline in force passes, they fail.
func TestDeadlineResume(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	sc := signalingConn{Conn: a, rd: make(chan struct{}, 16), wr: make(chan struct{}, 16)}
	c := &conn{Conn: sc}
	extend := func(d *deadline, t int64, set func(time.Time) error) error {
		if d.lazy(t) {
			return nil
		}
		return d.arm(set)
	}
	n := now()
	if err := extend(&c.wr, n+int64(50*time.Millisecond), c.Conn.SetWriteDeadline); err != nil {
		t.Fatal(err)
	}
	if err := extend(&c.wr, n+int64(600*time.Millisecond), c.Conn.SetWriteDeadline); err != nil {
		t.Fatal(err)
	}
	if got := c.wr.armed.Load(); got != n+int64(50*time.Millisecond) {
		t.Fatalf("a later deadline in force moved the connection's: armed %d", got)
	}
	<-sc.wr // the early deadline, armed
	msg := make([]byte, 64<<10)
	for i := range msg {
		msg[i] = byte(i)
	}
	got := make(chan []byte, 1)
	go func() {
		<-sc.wr // the write resumed: past the armed deadline, within the one in force
		buf, _ := io.ReadAll(io.LimitReader(b, int64(len(msg))))
		got <- buf
	}()
	if _, err := c.Write(msg); err != nil {
		t.Fatalf("write cut by the early deadline: %v", err)
	}
	if buf := <-got; string(buf) != string(msg) {
		t.Fatal("the resumed write lost or repeated bytes")
	}
	// Reads: the same, then a real timeout.
	n = now()
	if err := extend(&c.rd, n+int64(30*time.Millisecond), c.Conn.SetReadDeadline); err != nil {
		t.Fatal(err)
	}
	_ = extend(&c.rd, n+int64(300*time.Millisecond), c.Conn.SetReadDeadline)
	<-sc.rd // the early deadline, armed
	go func() {
		<-sc.rd // the read resumed: past the armed deadline, within the one in force
		_, _ = b.Write([]byte("x"))
	}()
	p := make([]byte, 1)
	if k, err := c.Read(p); err != nil || k != 1 {
		t.Fatalf("read cut by the early deadline: %d, %v", k, err)
	}
	start := time.Now()
	if _, err := c.Read(p); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("read past the deadline in force: %v", err)
	}
	if d := time.Since(start); d > 300*time.Millisecond+slack {
		t.Fatalf("read timed out after %v", d)
	}
	// A deadline set from outside is in force at once, earlier or later.
	_ = c.SetReadDeadline(time.Now().Add(-time.Second))
	if _, err := c.Read(p); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("read past a deadline set from outside: %v", err)
	}
	_ = c.SetReadDeadline(time.Time{})
	go func() { _, _ = b.Write([]byte("y")) }()
	if _, err := c.Read(p); err != nil {
		t.Fatalf("read with the deadline cleared: %v", err)
	}
}

func testTLS(t *testing.T) (srv, cli *tls.Config) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "attestd.test"},
		DNSNames: []string{"attestd.test"}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}}},
		&tls.Config{RootCAs: pool, ServerName: "attestd.test"}
}

// signalingConn announces each read or write deadline set on it (on
// buffered channels): a test waits for conn to resume after a deadline,
// which sets the next one, instead of for a while.
type signalingConn struct {
	net.Conn
	rd, wr chan struct{}
}

func (c signalingConn) SetReadDeadline(t time.Time) error {
	defer func() { c.rd <- struct{}{} }()
	return c.Conn.SetReadDeadline(t)
}

func (c signalingConn) SetWriteDeadline(t time.Time) error {
	defer func() { c.wr <- struct{}{} }()
	return c.Conn.SetWriteDeadline(t)
}

// countingConn counts the deadline changes made on a connection.
type countingConn struct {
	net.Conn
	n *atomic.Int64
}

func (c countingConn) SetReadDeadline(t time.Time) error {
	c.n.Add(1)
	return c.Conn.SetReadDeadline(t)
}

func (c countingConn) SetWriteDeadline(t time.Time) error {
	c.n.Add(1)
	return c.Conn.SetWriteDeadline(t)
}

func (c countingConn) SetDeadline(t time.Time) error {
	c.n.Add(2)
	return c.Conn.SetDeadline(t)
}

type countingListener struct {
	net.Listener
	n *atomic.Int64
}

func (l countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return countingConn{c, l.n}, nil
}

// TestFewDeadlineChanges: back-to-back requests on a kept-alive connection
// change its deadlines a few times in all, not per request.
func TestFewDeadlineChanges(t *testing.T) {
	s := New(Config{Handler: api.New(api.Config{})})
	mem := fasthttputil.NewInmemoryListener()
	var changes atomic.Int64
	done := make(chan error, 1)
	go func() { done <- s.Serve(countingListener{mem, &changes}) }()
	defer func() {
		_ = s.Shutdown(t.Context())
		<-done
	}()
	hc := &fasthttp.HostClient{Addr: "attestd.test", Dial: func(string) (net.Conn, error) { return mem.Dial() }, MaxConns: 1}
	req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.SetRequestURI("http://attestd.test/nope")
	const requests = 1000
	for range requests {
		if err := hc.Do(req, resp); err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode() != http.StatusNotFound {
			t.Fatalf("status %d", resp.StatusCode())
		}
	}
	// The connection's opening sets both; nothing more until the deadlines
	// set then pass (10 s: never in this test).
	if n := changes.Load(); n > 4 {
		t.Errorf("%d deadline changes for %d requests on one connection", n, requests)
	}
	t.Logf("%d deadline changes for %d requests", changes.Load(), requests)
}
