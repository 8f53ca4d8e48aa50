package proxy

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/attestd/attestd/crypto/token"
	"github.com/attestd/attestd/internal/apierr"
	"github.com/attestd/attestd/internal/proxytest"
)

// TestProxyOnFullNodeIsShedNotForwarded: when the node's admission
// refuses (every place for proxied requests taken), a proxied request over either
// adapter is answered 503 overloaded with Retry-After, as the API's
// endpoints are, and nothing reaches the upstream. Before, the proxy did
// not ask.
func TestProxyOnFullNodeIsShedNotForwarded(t *testing.T) {
	for _, tr := range proxytest.Listeners {
		t.Run(tr.Name, func(t *testing.T) {
			w := newWorld(t)
			w.cfg.Admit = func() (func(), error) { return nil, apierr.ErrOverloaded }
			p, err := New(w.cfg)
			if err != nil {
				t.Fatal(err)
			}
			base := tr.Start(t, p)
			a := send(t, http.MethodPost, base+"/v1/proxy/hdr/x", map[string]string{TokenHeader: w.token(token.Claims{Subject: "app"})}, nil)
			if a.status != http.StatusServiceUnavailable || a.code(t) != string(apierr.Overloaded) || a.header.Get("Retry-After") != "1" {
				t.Errorf("on a full node: %d %s, Retry-After %q; want 503 overloaded, Retry-After 1", a.status, a.body, a.header.Get("Retry-After"))
			}
			if hits := w.up.Take(); len(hits) != 0 {
				t.Errorf("a shed request reached the upstream")
			}
		})
	}
}

// TestProxyHoldsItsPlaceWhileForwarding: a proxied request is admitted
// once, holds its place while the upstream reads it, and gives it back
// before its answer reaches the client; a request refused by the proxy's
// own checks gives it back too.
func TestProxyHoldsItsPlaceWhileForwarding(t *testing.T) {
	for _, tr := range proxytest.Listeners {
		t.Run(tr.Name, func(t *testing.T) {
			w := newWorld(t)
			var held, admitted atomic.Int64
			w.cfg.Admit = func() (func(), error) {
				admitted.Add(1)
				held.Add(1)
				return func() { held.Add(-1) }, nil
			}
			p, err := New(w.cfg)
			if err != nil {
				t.Fatal(err)
			}
			base := tr.Start(t, p)
			var atUpstream atomic.Int64
			w.up.Answer(func(rw http.ResponseWriter, _ *http.Request) {
				atUpstream.Store(held.Load())
				_, _ = rw.Write([]byte("ok"))
			})
			good := map[string]string{TokenHeader: w.token(token.Claims{Subject: "app"})}
			if a := send(t, http.MethodGet, base+"/v1/proxy/hdr/x", good, nil); a.status != http.StatusOK {
				t.Fatalf("proxied: %d %s", a.status, a.body)
			}
			if atUpstream.Load() != 1 {
				t.Errorf("places held while the upstream answered: %d, want 1", atUpstream.Load())
			}
			if a := send(t, http.MethodGet, base+"/v1/proxy/hdr/x", nil, nil); a.status != http.StatusUnauthorized {
				t.Fatalf("without a token: %d %s", a.status, a.body)
			}
			if admitted.Load() != 2 || held.Load() != 0 {
				t.Errorf("admitted %d, held %d after both answers; want 2, 0", admitted.Load(), held.Load())
			}
		})
	}
}

// TestStreamTimeoutOnlyAfterTheChecks: the proxy's long deadlines are
// granted (in.extend) only to a request that names an API and carries a
// valid token with an acceptable declared length, never to one refused
// before its body: a client without a token cannot hold a stream for the
// stream timeout.
func TestStreamTimeoutOnlyAfterTheChecks(t *testing.T) {
	w := newWorld(t)
	w.cfg.StreamTimeout = 7 * time.Minute
	p, err := New(w.cfg)
	if err != nil {
		t.Fatal(err)
	}
	good := w.token(token.Claims{Subject: "app"})
	cases := []struct {
		name, method, path, tok string
		length                  int64
		extended                bool
	}{
		{"valid", http.MethodPost, "/v1/proxy/hdr/x", good, 0, true},
		{"no token", http.MethodPost, "/v1/proxy/hdr/x", "", 0, false},
		{"forged token", http.MethodPost, "/v1/proxy/hdr/x", good[:len(good)-2] + "AA", 0, false},
		{"unknown api", http.MethodPost, "/v1/proxy/none/x", good, 0, false},
		{"path rule", http.MethodPost, "/v1/proxy/hdr/../x", good, 0, false},
		{"trace", http.MethodTrace, "/v1/proxy/hdr/x", good, 0, false},
		{"declared too large", http.MethodPost, "/v1/proxy/hdr/x", good, DefaultMaxBodyBytes + 1, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var got time.Duration
			in := &inbound{method: tc.method, authority: "edge.test", path: tc.path, header: http.Header{},
				length: tc.length, logCtx: context.Background(), extend: func(d time.Duration) { got = d }}
			if tc.tok != "" {
				in.header.Set(TokenHeader, tc.tok)
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			resp, err := p.admitForward(ctx, cancel, in)
			if err == nil {
				_ = resp.Body.Close()
			}
			if tc.extended != (got == w.cfg.StreamTimeout) || (!tc.extended && got != 0) {
				t.Errorf("extended by %v (err %v), want extended %v", got, err, tc.extended)
			}
		})
	}
}

// TestShedProxyRequestReadsNoBody: shedding stays cheap over HTTP/1.1: a
// proxied request refused for load is answered at once and its
// connection closed, with none of its body read (a refusal for anything
// else reads what is left of it, within bounds, so that the client sees
// the answer). Before, a shed request's body was read, up to 10 MiB for
// up to 2 s, holding no place.
func TestShedProxyRequestReadsNoBody(t *testing.T) {
	w := newWorld(t)
	w.cfg.Admit = func() (func(), error) { return nil, apierr.ErrOverloaded }
	p, err := New(w.cfg)
	if err != nil {
		t.Fatal(err)
	}
	base := proxytest.ServeFasthttp(t, p)
	conn, err := net.DialTimeout("tcp", strings.TrimPrefix(base, "http://"), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(20 * time.Second))
	const size = 1 << 20 // streamed: over fasthttp's 64 KiB read whole before the handler
	head := fmt.Sprintf("POST /v1/proxy/hdr/x HTTP/1.1\r\nHost: edge.test\r\n%s: %s\r\nContent-Length: %d\r\n\r\n",
		TokenHeader, w.token(token.Claims{Subject: "app"}), size)
	go func() { _, _ = conn.Write(append([]byte(head), make([]byte, size)...)) }() // the whole body: lingering would read it all
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || !resp.Close {
		t.Errorf("a shed request: %d, connection close %v; want 503 and the connection closed", resp.StatusCode, resp.Close)
	}
}
