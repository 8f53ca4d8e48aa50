// Package proxytest holds what the secrets proxy's tests share: an upstream
// that records what reaches it, the two listeners a proxy is served on, and
// an address nothing listens on. It is for tests only.
//
// It does not import internal/proxy (whose own tests use it): a Handler is
// anything served like a *proxy.Proxy.
package proxytest

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
)

// Hit is one request the upstream received whole.
type Hit struct {
	Method, URI, Host string
	Header            http.Header
	Body              []byte
}

// Upstream is a loopback HTTP server standing in for a proxied API. It reads
// each request's body whole and records the request (one whose body breaks
// off is neither recorded nor answered), then answers it.
type Upstream struct {
	*httptest.Server

	mu     sync.Mutex
	hits   []Hit
	answer http.HandlerFunc // the one in force
	dflt   http.HandlerFunc
}

// NewUpstream starts an Upstream, closed when t ends. answer writes the
// answers; nil answers 200 "ok" with the header X-Upstream: yes.
func NewUpstream(t testing.TB, answer http.HandlerFunc) *Upstream {
	if answer == nil {
		answer = func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("X-Upstream", "yes")
			_, _ = io.WriteString(w, "ok")
		}
	}
	u := &Upstream{answer: answer, dflt: answer}
	u.Server = httptest.NewServer(http.HandlerFunc(u.serve))
	t.Cleanup(u.Close)
	return u
}

func (u *Upstream) serve(w http.ResponseWriter, r *http.Request) {
	b, err := io.ReadAll(r.Body)
	if err != nil {
		return // an incomplete request: not recorded
	}
	u.mu.Lock()
	u.hits = append(u.hits, Hit{r.Method, r.RequestURI, r.Host, r.Header.Clone(), b})
	answer := u.answer
	u.mu.Unlock()
	answer(w, r)
}

// Answer makes h write the answers from now on; nil restores the one given
// to NewUpstream.
func (u *Upstream) Answer(h http.HandlerFunc) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if h == nil {
		h = u.dflt
	}
	u.answer = h
}

// Take returns the requests recorded since the last Take.
func (u *Upstream) Take() []Hit {
	u.mu.Lock()
	defer u.mu.Unlock()
	h := u.hits
	u.hits = nil
	return h
}

// Handler is what a proxy serves on both listeners (*proxy.Proxy).
type Handler interface {
	http.Handler
	// HandleFasthttp serves ctx, or returns false for a path it does not
	// own.
	HandleFasthttp(ctx *fasthttp.RequestCtx) bool
}

// Listener serves a Handler on loopback until t ends and returns its base
// URL.
type Listener struct {
	Name  string
	Start func(t testing.TB, h Handler) string
}

// Listeners are the edge's two: net/http (as HTTP/3 serves the proxy) and
// fasthttp (the HTTP/1.1 listener).
var Listeners = []Listener{{"net-http", ServeNetHTTP}, {"fasthttp", ServeFasthttp}}

// ServeNetHTTP serves h on a loopback net/http server.
func ServeNetHTTP(t testing.TB, h Handler) string {
	s := httptest.NewServer(h)
	t.Cleanup(s.Close)
	return s.URL
}

// ServeFasthttp serves h on a loopback fasthttp server configured like the
// edge's: 64 KiB MaxRequestBodySize with StreamRequestBody, short timeouts.
// A path h does not own is answered 404.
func ServeFasthttp(t testing.TB, h Handler) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &fasthttp.Server{
		Handler: func(ctx *fasthttp.RequestCtx) {
			if !h.HandleFasthttp(ctx) {
				ctx.SetStatusCode(404)
			}
		},
		MaxRequestBodySize: 64 << 10, StreamRequestBody: true, ReadTimeout: 10 * time.Second,
		WriteTimeout: 10 * time.Second, IdleTimeout: 10 * time.Second, NoDefaultContentType: true,
		DisablePreParseMultipartForm: true, CloseOnShutdown: true, Logger: testLogger{t},
	}
	done := make(chan struct{})
	go func() { defer close(done); _ = s.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = s.ShutdownWithContext(ctx)
		<-done
	})
	return "http://" + ln.Addr().String()
}

type testLogger struct{ t testing.TB }

func (l testLogger) Printf(format string, args ...any) { l.t.Logf("fasthttp: "+format, args...) }

// ClosedAddr is a loopback host:port nothing listens on.
func ClosedAddr(t testing.TB) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}
