package e2e

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/attestd/attestd/client"
	"github.com/attestd/attestd/daemon"
	"github.com/attestd/attestd/internal/testenv"
	"github.com/attestd/attestd/internal/testenv/h3test"
	"github.com/attestd/attestd/internal/testenv/poll"
)

// The gauges of the two pools of places in flight: the API's requests
// (--max-in-flight) and proxied requests (--proxy-max-in-flight).
const (
	apiGauge   = "attestd_limit_in_flight"
	proxyGauge = "attestd_limit_proxy_in_flight"
)

// gaugeIs waits, at most 10 s, until the node's gauge is want.
func gaugeIs(t *testing.T, n *testenv.Node, gauge string, want float64) {
	t.Helper()
	poll.Until(t, 10*time.Second, fmt.Sprintf("%s = %v", gauge, want), func() bool {
		return metric(t, n, gauge) == want
	})
}

// inFlight waits until the API's requests in flight are want.
func inFlight(t *testing.T, n *testenv.Node, want float64) {
	t.Helper()
	gaugeIs(t, n, apiGauge, want)
}

// proxyInFlight waits until the proxied requests in flight are want.
func proxyInFlight(t *testing.T, n *testenv.Node, want float64) {
	t.Helper()
	gaugeIs(t, n, proxyGauge, want)
}

// stallUpload sends, on rc (a raw HTTP/3 connection to addr), the header
// of a proxied POST with token declaring size bytes and 1 KiB of its body,
// then nothing; the stall is stopped when the test ends, if not before.
func stallUpload(t *testing.T, rc *h3test.RawConn, addr, token string, size int) *h3test.Stall {
	t.Helper()
	hdr := http.Header{"Attest-Token": {token}, "Content-Type": {"application/octet-stream"}}
	s, err := rc.Stall("https://"+addr+"/v1/proxy/maps/upload", hdr, size, 1<<10)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Stop)
	return s
}

// stallHTTP1Upload sends, over a new HTTP/1.1 connection, the header of a
// proxied POST declaring 1 MiB and 16 KiB of its body, then nothing: over
// 64 KiB, fasthttp streams the body through the proxy (which admits it
// first) instead of reading it whole before any handler runs. Closing the
// connection ends it.
func stallHTTP1Upload(t *testing.T, n *testenv.Node, token string) net.Conn {
	t.Helper()
	conn, err := net.DialTimeout("tcp", strings.TrimPrefix(n.Base, "http://"), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	head := fmt.Sprintf("POST /v1/proxy/maps/upload HTTP/1.1\r\nHost: edge.test\r\nAttest-Token: %s\r\n"+
		"Content-Type: application/octet-stream\r\nContent-Length: %d\r\n\r\n", token, 1<<20)
	if _, err := io.WriteString(conn, head+strings.Repeat("x", 16<<10)); err != nil {
		t.Fatal(err)
	}
	return conn
}

// proxiedGets are GET /v1/proxy/maps/x with token over each transport.
func proxiedGets(t *testing.T, n *testenv.Node, c *h3test.Cert, token string) map[string]func() (int, http.Header, []byte) {
	h3 := h3test.H3Client(t, c.Pool)
	hdr := map[string]string{"Attest-Token": token}
	return map[string]func() (int, http.Header, []byte){
		"http1": func() (int, http.Header, []byte) { return rawHTTP1(t, n.Base, "/v1/proxy/maps/x", hdr) },
		"http3": func() (int, http.Header, []byte) { return opaqueGet(t, h3, h3test.H3Base(n), "/v1/proxy/maps/x", hdr) },
	}
}

// genuineClients are clients of the genuine app of f over each transport.
func genuineClients(t *testing.T, n *testenv.Node, c *h3test.Cert, f *testenv.Fixture) map[string]*client.Client {
	t.Helper()
	out := map[string]*client.Client{}
	for name, tr := range map[string]Transport{"http1": http1(), "http3": {HTTP: h3test.H3Client(t, c.Pool), Base: h3test.H3Base}} {
		base := n.Base
		if tr.Base != nil {
			base = tr.Base(n)
		}
		cl, err := client.New(client.Config{BaseURL: base, App: f.ClientApp(testenv.App), HTTP: tr.HTTP, Now: n.Clock.Now})
		if err != nil {
			t.Fatal(err)
		}
		out[name] = cl
	}
	return out
}

// TestProxyUploadsCannotDenyAttests is the proxy-upload denial of service:
// a token holder fills the node's places in flight with proxied uploads
// that trickle (one over each transport), held for the proxy's stream
// timeout. Proxied requests have a pool of their own
// (--proxy-max-in-flight): with it full, a further proxied request over
// either transport is answered 503 overloaded with Retry-After and nothing
// reaches the upstream, while genuine challenges and attests over both
// transports pass, the API's places untouched; once the uploads end,
// proxied requests pass again. Before, proxied requests took the API's
// places (--max-in-flight): the uploads made the node answer every
// attest overloaded for the stream timeout.
func TestProxyUploadsCannotDenyAttests(t *testing.T) {
	const bound = 2
	n, c, up, token, f := proxyH3NodeFixture(t, func(cfg *daemon.Config) {
		proxyBounds(cfg, proxyRead, time.Minute) // the uploads are ended by the test
		cfg.Limits.MaxInFlight = bound
		cfg.Limits.ProxyMaxInFlight = bound
	})
	addr := n.D.HTTP3Addr().String()
	rc, err := h3test.DialRaw(t, c.Pool, addr)
	if err != nil {
		t.Fatal(err)
	}
	s := stallUpload(t, rc, addr, token, 64<<10)
	defer s.Stop()
	conn := stallHTTP1Upload(t, n, token)
	defer conn.Close()
	// The uploads' places, wherever they are counted (before the fix,
	// among the API's).
	poll.Until(t, 10*time.Second, "both uploads hold a place", func() bool {
		return metric(t, n, apiGauge)+metric(t, n, proxyGauge) == bound
	})

	for name, cl := range genuineClients(t, n, c, f) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		if _, err := cl.Attest(ctx, client.Evidence{}); err != nil {
			t.Errorf("%s: a genuine challenge and attest while proxied uploads fill the proxy's places: %v", name, err)
		}
		cancel()
	}
	get := proxiedGets(t, n, c, token)
	for name, g := range get {
		st, h, body := g()
		if st != http.StatusServiceUnavailable || !strings.Contains(string(body), `"overloaded"`) || h.Get("Retry-After") != "1" {
			t.Errorf("%s: a proxied request with the proxy's places full: %d %s (Retry-After %q), want 503 overloaded, Retry-After 1", name, st, body, h.Get("Retry-After"))
		}
	}
	if hits := up.Take(); len(hits) != 0 {
		t.Errorf("the upstream received %d requests while the proxy's places were full", len(hits))
	}
	if api, proxied := metric(t, n, apiGauge), metric(t, n, proxyGauge); api != 0 || proxied != bound {
		t.Errorf("places held by the uploads: API %v, proxy %v; want 0, %d", api, proxied, bound)
	}
	if refused := metric(t, n, `attestd_limit_refused_total{limit="proxy_in_flight"}`); refused != float64(len(get)) {
		t.Errorf(`attestd_limit_refused_total{limit="proxy_in_flight"} = %v, want %d`, refused, len(get))
	}

	s.Stop()
	conn.Close()
	proxyInFlight(t, n, 0)
	for name, g := range get {
		if st, _, body := g(); st != http.StatusOK {
			t.Errorf("%s: a proxied request once the uploads ended: %d %s", name, st, body)
		}
	}
	if hits := up.Take(); len(hits) != len(get) {
		t.Errorf("the upstream received %d requests, want %d", len(hits), len(get))
	}
}

// TestFullAPIPoolDoesNotStopProxiedRequests is the converse: with every
// place of the API's taken (stalled attest bodies over HTTP/3, admitted
// before their bodies), the API's requests are answered overloaded but a
// proxied request over either transport still passes, in its own pool.
// Before, the two shared one pool and the proxied request was shed.
func TestFullAPIPoolDoesNotStopProxiedRequests(t *testing.T) {
	const bound = 2
	n, c, up, token := proxyH3NodeEdit(t, func(cfg *daemon.Config) {
		proxyBounds(cfg, time.Minute, proxyStream) // the stalls are ended by the test
		cfg.Limits.MaxInFlight = bound
		cfg.Limits.ProxyMaxInFlight = bound
	})
	addr := n.D.HTTP3Addr().String()
	rc, err := h3test.DialRaw(t, c.Pool, addr)
	if err != nil {
		t.Fatal(err)
	}
	var stalls []*h3test.Stall
	defer func() {
		for _, s := range stalls {
			s.Stop()
		}
	}()
	for range bound {
		s, err := rc.Stall("https://"+addr+"/v1/attest", http.Header{"Content-Type": {"application/json"}}, 64<<10, 1<<10)
		if err != nil {
			t.Fatal(err)
		}
		stalls = append(stalls, s)
	}
	inFlight(t, n, bound)
	if st, _, body := rawHTTP1(t, n.Base, "/v1/accounts/none/jwks.json", nil); st != http.StatusServiceUnavailable {
		t.Errorf("an API request with the API's places full: %d %s, want 503", st, body)
	}
	get := proxiedGets(t, n, c, token)
	for name, g := range get {
		if st, _, body := g(); st != http.StatusOK {
			t.Errorf("%s: a proxied request with the API's places full: %d %s, want 200", name, st, body)
		}
	}
	if hits := up.Take(); len(hits) != len(get) {
		t.Errorf("the upstream received %d requests, want %d", len(hits), len(get))
	}
	proxyInFlight(t, n, 0)
	for _, s := range stalls {
		s.Stop()
	}
	inFlight(t, n, 0)
}

// TestStalledProxyBodyHoldsOnePlaceUntilCut: a proxied POST whose body
// stops arriving holds one place among the proxied requests in flight
// while it is read (so that such bodies are shed past
// --proxy-max-in-flight), and none of the API's, over either transport,
// and gives it back when the proxy's stream timeout cuts it. Before, a
// stalled proxied body was not counted at all.
func TestStalledProxyBodyHoldsOnePlaceUntilCut(t *testing.T) {
	n, c, up, token := proxyH3NodeEdit(t, func(cfg *daemon.Config) {
		proxyBounds(cfg, proxyRead, proxyStream)
		cfg.Limits.MaxInFlight = 4096 // counted only under a bound
		cfg.Limits.ProxyMaxInFlight = 4096
	})
	t.Run("http3", func(t *testing.T) {
		addr := n.D.HTTP3Addr().String()
		rc, err := h3test.DialRaw(t, c.Pool, addr)
		if err != nil {
			t.Fatal(err)
		}
		s := stallUpload(t, rc, addr, token, 64<<10)
		defer s.Stop()
		proxyInFlight(t, n, 1)
		if api := metric(t, n, apiGauge); api != 0 {
			t.Errorf("a stalled proxied body holds %v of the API's places", api)
		}
		select {
		case <-s.Ended:
		case <-time.After(proxyStream + stallMargin):
			t.Fatal("a stalled proxied body was not cut")
		}
		proxyInFlight(t, n, 0)
	})
	t.Run("http1", func(t *testing.T) {
		conn := stallHTTP1Upload(t, n, token)
		defer conn.Close()
		proxyInFlight(t, n, 1)
		if api := metric(t, n, apiGauge); api != 0 {
			t.Errorf("a stalled proxied body holds %v of the API's places", api)
		}
		// The node answers or closes the connection once the stream
		// timeout passes.
		_ = conn.SetReadDeadline(time.Now().Add(proxyStream + stallMargin))
		if resp, err := http.ReadResponse(bufio.NewReader(conn), nil); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				t.Errorf("a stalled proxied body was answered 200")
			}
		} else if ne, ok := err.(net.Error); ok && ne.Timeout() {
			t.Fatal("a stalled proxied body was not cut")
		}
		proxyInFlight(t, n, 0)
	})
	if hits := up.Take(); len(hits) != 0 {
		t.Errorf("the upstream received %d requests from stalled bodies", len(hits))
	}
}
