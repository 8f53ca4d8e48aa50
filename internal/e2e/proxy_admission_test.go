package e2e

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/attestd/attestd/daemon"
	"github.com/attestd/attestd/internal/testenv"
	"github.com/attestd/attestd/internal/testenv/h3test"
	"github.com/attestd/attestd/internal/testenv/poll"
)

// inFlight waits, at most 10 s, until the node's requests in flight
// (attestd_limit_in_flight) are want.
func inFlight(t *testing.T, n *testenv.Node, want float64) {
	t.Helper()
	poll.Until(t, 10*time.Second, fmt.Sprintf("attestd_limit_in_flight = %v", want), func() bool {
		return metric(t, n, "attestd_limit_in_flight") == want
	})
}

// TestFullNodeShedsProxyRequests: proxied requests take their places among
// the requests in flight (--max-in-flight) as the API's do. With every
// place held (stalled attest bodies over HTTP/3, admitted before their
// bodies), a proxied request over either transport is answered 503
// overloaded with Retry-After and nothing reaches the upstream; once the
// places are free it passes. Before, the proxy was never admitted: it
// forwarded on a full node.
func TestFullNodeShedsProxyRequests(t *testing.T) {
	const bound = 2
	n, c, up, token := proxyH3NodeEdit(t, func(cfg *daemon.Config) {
		proxyBounds(cfg, time.Minute, proxyStream) // the stalls are ended by the test
		cfg.Limits.MaxInFlight = bound
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
	h3 := h3test.H3Client(t, c.Pool)
	hdr := map[string]string{"Attest-Token": token}
	get := map[string]func() (int, http.Header, []byte){
		"http1": func() (int, http.Header, []byte) { return rawHTTP1(t, n.Base, "/v1/proxy/maps/x", hdr) },
		"http3": func() (int, http.Header, []byte) { return opaqueGet(t, h3, h3test.H3Base(n), "/v1/proxy/maps/x", hdr) },
	}
	for name, g := range get {
		st, h, body := g()
		if st != http.StatusServiceUnavailable || !strings.Contains(string(body), `"overloaded"`) || h.Get("Retry-After") == "" {
			t.Errorf("%s: a proxied request on a full node: %d %s (Retry-After %q), want 503 overloaded with Retry-After", name, st, body, h.Get("Retry-After"))
		}
	}
	if hits := up.Take(); len(hits) != 0 {
		t.Errorf("the upstream received %d requests from a full node", len(hits))
	}
	for _, s := range stalls {
		s.Stop()
	}
	inFlight(t, n, 0)
	for name, g := range get {
		if st, _, body := g(); st != http.StatusOK {
			t.Errorf("%s: a proxied request once places were free: %d %s", name, st, body)
		}
	}
	if hits := up.Take(); len(hits) != len(get) {
		t.Errorf("the upstream received %d requests, want %d", len(hits), len(get))
	}
}

// TestStalledProxyBodyHoldsOnePlaceUntilCut: a proxied POST whose body
// stops arriving holds one place among the requests in flight while it is
// read (so that such bodies are shed past --max-in-flight), over either
// transport, and gives it back when the proxy's stream timeout cuts it.
// Before, a stalled proxied body was not counted at all.
func TestStalledProxyBodyHoldsOnePlaceUntilCut(t *testing.T) {
	n, c, up, token := proxyH3NodeEdit(t, func(cfg *daemon.Config) {
		proxyBounds(cfg, proxyRead, proxyStream)
		cfg.Limits.MaxInFlight = 4096 // counted only under a bound
	})
	t.Run("http3", func(t *testing.T) {
		addr := n.D.HTTP3Addr().String()
		rc, err := h3test.DialRaw(t, c.Pool, addr)
		if err != nil {
			t.Fatal(err)
		}
		hdr := http.Header{"Attest-Token": {token}, "Content-Type": {"application/octet-stream"}}
		s, err := rc.Stall("https://"+addr+"/v1/proxy/maps/upload", hdr, 64<<10, 1<<10)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Stop()
		inFlight(t, n, 1)
		select {
		case <-s.Ended:
		case <-time.After(proxyStream + stallMargin):
			t.Fatal("a stalled proxied body was not cut")
		}
		inFlight(t, n, 0)
	})
	t.Run("http1", func(t *testing.T) {
		conn, err := net.DialTimeout("tcp", strings.TrimPrefix(n.Base, "http://"), 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		// Over 64 KiB: fasthttp reads a shorter body whole before any
		// handler runs (under the read timeout, holding no place); a
		// longer one streams, through the proxy, once 8 KiB of it came.
		head := fmt.Sprintf("POST /v1/proxy/maps/upload HTTP/1.1\r\nHost: edge.test\r\nAttest-Token: %s\r\n"+
			"Content-Type: application/octet-stream\r\nContent-Length: %d\r\n\r\n", token, 1<<20)
		if _, err := io.WriteString(conn, head+strings.Repeat("x", 16<<10)); err != nil {
			t.Fatal(err)
		}
		inFlight(t, n, 1)
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
		inFlight(t, n, 0)
	})
	if hits := up.Take(); len(hits) != 0 {
		t.Errorf("the upstream received %d requests from stalled bodies", len(hits))
	}
}
