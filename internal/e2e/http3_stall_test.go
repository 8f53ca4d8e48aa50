package e2e

import (
	"context"
	"io"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/quic-go/quic-go"

	"github.com/attestd/attestd/client"
	"github.com/attestd/attestd/daemon"
	"github.com/attestd/attestd/internal/proxytest"
	"github.com/attestd/attestd/internal/testenv"
	"github.com/attestd/attestd/internal/testenv/h3test"
	"github.com/attestd/attestd/internal/testenv/poll"
)

// The proxy's stream timeout in these tests, and the read timeout of the
// node's other requests, shorter: a proxied exchange has the longer one.
const (
	proxyStream = 4 * time.Second
	proxyRead   = 2 * time.Second
	stallMargin = 20 * time.Second
)

// proxyH3Node is a node serving HTTP/3 whose account proxies APIs to an
// upstream that reads each request body whole before answering, and a
// token that passes; its read timeout is proxyRead, the proxy's stream
// timeout proxyStream.
func proxyH3Node(t *testing.T) (*testenv.Node, *h3test.Cert, *proxytest.Upstream, string) {
	t.Helper()
	return proxyH3NodeEdit(t, func(cfg *daemon.Config) { proxyBounds(cfg, proxyRead, proxyStream) })
}

// proxyH3NodeEdit is proxyH3Node with edit applied to the node's
// configuration instead of the stall tests' bounds.
func proxyH3NodeEdit(t *testing.T, edit func(*daemon.Config)) (*testenv.Node, *h3test.Cert, *proxytest.Upstream, string) {
	t.Helper()
	n, c, up, token, _ := proxyH3NodeFixture(t, edit)
	return n, c, up, token
}

// proxyH3NodeFixture is proxyH3NodeEdit, with the fixture the node's store
// was made from (for clients of its apps).
func proxyH3NodeFixture(t *testing.T, edit func(*daemon.Config)) (*testenv.Node, *h3test.Cert, *proxytest.Upstream, string, *testenv.Fixture) {
	t.Helper()
	up := proxytest.NewUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasPrefix(r.URL.Path, "/maps/big") {
			_, _ = io.WriteString(w, "ok")
			return
		}
		buf := bigChunk()
		for sent := 0; sent < bigSize; sent += len(buf) {
			if _, err := w.Write(buf); err != nil {
				return
			}
		}
	})
	f := proxyFixture(t, up.URL)
	c := h3test.NewCert(t, t.TempDir(), "node")
	n := testenv.StartNode(t, testenv.NewStore(t, f), h3test.TLSOptions(c, testenv.Options{Edit: edit}))
	e := &env{t: t, f: f, node: n, tr: http1()}
	cl := e.client(testenv.App)
	token := decodeVerdict(t, e.attest(cl, e.body(cl, e.nonce(cl), client.Evidence{}))).Token
	return n, c, up, token, f
}

// TestHTTP3StalledProxyBodyIsCut: a proxied POST over HTTP/3 whose body
// stops arriving (the connection kept alive by PINGs) is ended once the
// proxy's stream timeout passes: the proxy's read of the body fails, its
// handler returns, nothing reaches the upstream, and the goroutines it
// held are gone. Before, nothing bounded the read and the handler never
// returned.
func TestHTTP3StalledProxyBodyIsCut(t *testing.T) {
	n, c, up, token := proxyH3Node(t)
	addr := n.D.HTTP3Addr().String()
	runtime.GC()
	g0 := runtime.NumGoroutine()
	rc, err := h3test.DialRaw(t, c.Pool, addr)
	if err != nil {
		t.Fatal(err)
	}
	s := stallUpload(t, rc, addr, token, 64<<10)
	start := time.Now()
	select {
	case <-s.Ended:
		t.Logf("stalled proxied body ended after %v: status %d, err %v", time.Since(start).Round(100*time.Millisecond), s.Status, s.Err)
	case <-time.After(proxyStream + stallMargin):
		t.Fatalf("a stalled proxied body was still being read %v after it began (stream timeout %v)", time.Since(start).Round(time.Second), proxyStream)
	}
	if hits := up.Take(); len(hits) != 0 {
		t.Errorf("the upstream received %d requests from a stalled body", len(hits))
	}
	s.Stop()
	_ = rc.QC.CloseWithError(0, "")
	var g1 int
	if !poll.For(10*time.Second, func() bool { runtime.GC(); g1 = runtime.NumGoroutine(); return g1 <= g0+8 }) {
		t.Errorf("goroutines %d after the stalled proxied body, %d before", g1, g0)
	}
}

// TestHTTP3SlowProxiedUploadWithinStreamTimeout: a proxied body may take
// longer than the read timeout of the node's other requests, as long as it
// arrives within the proxy's stream timeout (as over HTTP/1.1).
func TestHTTP3SlowProxiedUploadWithinStreamTimeout(t *testing.T) {
	n, c, up, token := proxyH3Node(t)
	addr := n.D.HTTP3Addr().String()
	rc, err := h3test.DialRaw(t, c.Pool, addr)
	if err != nil {
		t.Fatal(err)
	}
	s := stallUpload(t, rc, addr, token, 2<<10)
	// A slow client, on purpose: the rest of the body comes after the read
	// timeout (real QUIC streams: no fake clock reaches them).
	time.Sleep(proxyRead + proxyRead/2)
	if err := s.Send(1<<10, true); err != nil {
		t.Fatal(err)
	}
	select {
	case <-s.Ended:
	case <-time.After(proxyStream + stallMargin):
		t.Fatal("no answer to a slow proxied upload")
	}
	hits := up.Take()
	if s.Status != http.StatusOK || len(hits) != 1 || len(hits[0].Body) != 2<<10 {
		t.Errorf("slow proxied upload: status %d (%v), upstream hits %d", s.Status, s.Err, len(hits))
	}
}

// TestHTTP3UnreadProxiedAnswerIsCut: a client that asks for a long proxied
// answer over HTTP/3 and then takes a byte now and then (its flow-control
// window stays full, the node's writes block) holds the proxy's handler
// only until the proxy's stream timeout: then the node resets the stream.
// Before, nothing bounded the write.
func TestHTTP3UnreadProxiedAnswerIsCut(t *testing.T) {
	n, c, _, token := proxyH3Node(t)
	addr := n.D.HTTP3Addr().String()
	rc, err := h3test.DialRaw(t, c.Pool, addr, &quic.Config{InitialStreamReceiveWindow: 64 << 10, MaxStreamReceiveWindow: 64 << 10})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), proxyStream+stallMargin)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "https://"+addr+"/v1/proxy/maps/big", nil)
	req.Header.Set("Attest-Token", token)
	start := time.Now()
	resp, err := rc.CC.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("proxied answer: %d", resp.StatusCode)
	}
	var b [1]byte
	read := 0
	for {
		_, err := resp.Body.Read(b[:])
		if err != nil {
			t.Logf("the unread answer was cut %v after the request, %d bytes read: %v", time.Since(start).Round(100*time.Millisecond), read, err)
			if ctx.Err() != nil {
				t.Errorf("the answer was still streaming to a client that reads nothing %v after it began (stream timeout %v)", time.Since(start).Round(time.Second), proxyStream)
			}
			return
		}
		read++
		time.Sleep(20 * time.Millisecond) // a client that takes 50 bytes a second
	}
}

// notProxyTargets are request targets that spell the proxy's prefix
// otherwise than as the proxy serves it: a decoder or a normaliser makes
// each /v1/proxy/maps/upload, but routed as sent none reaches the proxy.
var notProxyTargets = []string{
	"/v1/%70roxy/maps/upload",
	"/v1/%70%72%6f%78%79/maps/upload",
	"/v1%2Fproxy/maps/upload",
	"/v1/proxy%2Fmaps/upload",
	"//v1/proxy/maps/upload",
	"/v1/./proxy/maps/upload",
	"/v1/x/../proxy/maps/upload",
	"/v1/PROXY/maps/upload",
}

// TestHTTP3EncodedProxyPrefixDoesNotExtendDeadline is the read-deadline
// bypass: a POST whose target spells /v1/proxy/ otherwise (percent-encoded,
// doubled or dot segments, upper case), with a valid token, whose body
// stops arriving. None of them is the proxy's (the route is decided on the
// target as sent), so none gets the proxy's stream timeout: each is cut at
// the node's read timeout, like a stalled /v1/attest. Before, the choice
// of deadline was made on the decoded path: /v1/%70roxy/… was given the
// proxy's minutes while the API's handler read its body, holding a place
// among the requests in flight.
func TestHTTP3EncodedProxyPrefixDoesNotExtendDeadline(t *testing.T) {
	// A stream timeout no test waits for: a stall given it is seen held.
	n, c, up, token := proxyH3NodeEdit(t, func(cfg *daemon.Config) {
		proxyBounds(cfg, proxyRead, 10*time.Minute)
		cfg.Limits.MaxInFlight = 4096
	})
	addr := n.D.HTTP3Addr().String()
	rc, err := h3test.DialRaw(t, c.Pool, addr)
	if err != nil {
		t.Fatal(err)
	}
	hdr := http.Header{"Attest-Token": {token}, "Content-Type": {"application/octet-stream"}}
	stalls := make([]*h3test.Stall, len(notProxyTargets))
	for i, target := range notProxyTargets {
		if stalls[i], err = rc.Stall("https://"+addr+target, hdr, 64<<10, 1<<10); err != nil {
			t.Fatal(err)
		}
	}
	defer func() {
		for _, s := range stalls {
			s.Stop()
		}
	}()
	start := time.Now()
	bound := time.After(proxyRead + stallMargin)
	for i, s := range stalls {
		select {
		case <-s.Ended:
			if s.Status == http.StatusOK {
				t.Errorf("POST %s: answered 200 from a stalled body", notProxyTargets[i])
			}
		case <-bound:
			t.Fatalf("POST %s: a stalled body still read %v after it began (read timeout %v): it was given the proxy's stream timeout",
				notProxyTargets[i], time.Since(start).Round(time.Second), proxyRead)
		}
	}
	if hits := up.Take(); len(hits) != 0 {
		t.Errorf("the upstream received %d requests", len(hits))
	}
	poll.Until(t, 5*time.Second, "no request in flight", func() bool { return metric(t, n, "attestd_limit_in_flight") == 0 })
}
