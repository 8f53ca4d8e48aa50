// Package fastapi is the HTTP/1.1 adapter of the public endpoints, on
// fasthttp. It copies what it needs out of the RequestCtx (nothing of it
// outlives the handler), calls the transport-neutral api.Handler with the
// request target's path exactly as sent (fasthttp's normalised
// RequestCtx.Path is never routed on), and writes its Response. Limits and
// timeouts are set here explicitly: the body limit (64 KiB), read, write
// and idle timeouts (kept by the server itself, without a deadline change
// per request: deadline.go). fasthttp does not recover a handler's panic
// (the process would end): this server does (recover.go).
//
// Only packages of this module import it.
package fastapi

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/attestd/attestd/internal/api"
	"github.com/attestd/attestd/internal/apierr"
	"github.com/attestd/attestd/internal/attest"
)

// Config configures the HTTP/1.1 server.
type Config struct {
	Handler *api.Handler
	// ReadTimeout bounds reading a request (from its first byte; for a
	// connection's first request, from the connection's opening, the TLS
	// handshake included); default 10 s.
	ReadTimeout time.Duration
	// WriteTimeout: an answer is written within ReadTimeout+WriteTimeout
	// of its request's first byte; default 10 s.
	WriteTimeout time.Duration
	// IdleTimeout bounds the wait for a kept-alive connection's next
	// request; default 60 s.
	IdleTimeout time.Duration
	// MaxConns bounds concurrent connections (fasthttp Concurrency); 0 = 256 Ki.
	MaxConns int
	// AltSvc, when set, is sent as the Alt-Svc header (HTTP/3 advertisement).
	AltSvc string
	// Extra handles paths the api.Handler does not (the proxy); it returns
	// false to let api.Handler answer.
	Extra func(ctx *fasthttp.RequestCtx) bool
	// Log receives one line per recovered panic, with the request's
	// context (its request id, when the caller set one).
	Log *slog.Logger
	// Panicked, when set, counts each recovered panic (a metric); the
	// server has answered and logged it.
	Panicked func()
	// Middleware, when set, wraps the server's handlers outermost (the
	// access log: request ids, access lines, a last recover).
	Middleware Middleware
}

// ErrorHandler answers a request fasthttp could not read (malformed, or a
// body over the limit), with the error that says why.
type ErrorHandler = func(ctx *fasthttp.RequestCtx, err error)

// Middleware wraps both handlers of the server, so that the answers to
// requests fasthttp could not read get what every other answer gets.
// Each method is called once, by New.
type Middleware interface {
	WrapHandler(next fasthttp.RequestHandler) fasthttp.RequestHandler
	WrapErrorHandler(next ErrorHandler) ErrorHandler
}

// Server serves the public endpoints over HTTP/1.1.
type Server struct {
	cfg    Config
	srv    *fasthttp.Server
	pool   sync.Pool
	altSvc []byte
}

type exchange struct {
	req  api.Request
	resp api.Response
	body []byte // a streamed request body, read up to the limit
}

// New builds the server; Serve starts it.
func New(cfg Config) *Server {
	if cfg.ReadTimeout == 0 {
		cfg.ReadTimeout = 10 * time.Second
	}
	if cfg.WriteTimeout == 0 {
		cfg.WriteTimeout = 10 * time.Second
	}
	if cfg.IdleTimeout == 0 {
		cfg.IdleTimeout = 60 * time.Second
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	s := &Server{cfg: cfg, altSvc: []byte(cfg.AltSvc)}
	t := &timeouts{read: cfg.ReadTimeout, write: cfg.WriteTimeout, idle: cfg.IdleTimeout}
	s.pool.New = func() any { return &exchange{resp: api.Response{Body: make([]byte, 0, 2048)}} }
	s.srv = &fasthttp.Server{
		Handler:      s.handle,
		ErrorHandler: s.handleError,
		// No Server header: it tells a client nothing it needs (the
		// HTTP/3 server sends none either) and costs bytes per answer.
		NoDefaultServerHeader: true,
		MaxRequestBodySize:    attest.MaxBodyBytes,
		// No ReadTimeout, WriteTimeout, IdleTimeout: connState keeps them.
		ConnState:   t.connState,
		Concurrency: cfg.MaxConns,
		// Nothing reads RequestCtx.Time: no clock read per request for it.
		LazyRequestTime: true,
		// Bodies over the limit stream instead of being refused by
		// fasthttp, so the proxy (Extra) can take large ones; the API's
		// own endpoints read at most MaxBodyBytes of a streamed body.
		StreamRequestBody:            cfg.Extra != nil,
		DisablePreParseMultipartForm: true,
		NoDefaultContentType:         true,
		CloseOnShutdown:              true,
		Logger:                       discardLogger{},
	}
	if cfg.Middleware != nil {
		s.srv.Handler = cfg.Middleware.WrapHandler(s.srv.Handler)
		s.srv.ErrorHandler = cfg.Middleware.WrapErrorHandler(s.srv.ErrorHandler)
	}
	return s
}

type discardLogger struct{}

func (discardLogger) Printf(string, ...any) {}

// Serve serves on ln until Shutdown. For TLS, serve on TLSListener(ln,
// cfg), so that the timeouts are kept beneath TLS.
func (s *Server) Serve(ln net.Listener) error { return s.srv.Serve(Listener(ln)) }

// Shutdown stops accepting, waits for in-flight requests until ctx ends.
func (s *Server) Shutdown(ctx context.Context) error { return s.srv.ShutdownWithContext(ctx) }

// Handler returns the raw fasthttp handler, without Config.Middleware
// (for in-memory benchmarks).
func (s *Server) Handler() fasthttp.RequestHandler { return s.handle }

func (s *Server) handle(ctx *fasthttp.RequestCtx) {
	defer s.recoverPanic(ctx)
	if s.cfg.Extra != nil && s.cfg.Extra(ctx) {
		return
	}
	s.serve(ctx, false)
}

// handleError answers requests fasthttp could not read. A body over the
// limit still goes through routing, so that the media type is checked
// before the size, as PROTOCOL.md §2 orders.
func (s *Server) handleError(ctx *fasthttp.RequestCtx, err error) {
	defer s.recoverPanic(ctx)
	if errors.Is(err, fasthttp.ErrBodyTooLarge) {
		s.serve(ctx, true)
		return
	}
	x := s.pool.Get().(*exchange)
	defer s.pool.Put(x)
	x.resp.Reset()
	s.cfg.Handler.Fail(&x.resp, apierr.ErrBadRequest.WithMessage("malformed HTTP request"))
	s.write(ctx, &x.resp)
}

func (s *Server) serve(ctx *fasthttp.RequestCtx, tooLarge bool) {
	x := s.pool.Get().(*exchange)
	defer s.pool.Put(x)
	x.req = api.Request{
		Method: ctx.Method(),
		// The target as sent: ctx.Path() would be decoded and normalised
		// ("/v1/x/../challenge" made "/v1/challenge").
		Path:        api.TargetPath(ctx.Request.Header.RequestURI()),
		ContentType: ctx.Request.Header.ContentType(),
		TooLarge:    tooLarge,
	}
	if api.ReadsSignature(x.req.Path) {
		x.req.Signature = ctx.Request.Header.PeekBytes(hdrSignature)
	}
	if s.cfg.Handler.ReadsRemoteIP(x.req.Path) {
		x.req.RemoteIP = remoteIP(ctx.RemoteAddr())
	}
	switch {
	case tooLarge:
	case ctx.Request.IsBodyStream():
		x.body, x.req.TooLarge = readLimited(ctx.RequestBodyStream(), x.body[:0])
		x.req.Body = x.body
	default:
		x.req.Body = ctx.PostBody()
	}
	if x.req.TooLarge {
		ctx.SetConnectionClose() // the rest of the body is not read
	}
	x.resp.Reset()
	s.cfg.Handler.Serve(ctx, &x.req, &x.resp)
	x.req = api.Request{} // drop references into ctx
	s.write(ctx, &x.resp)
}

// Header names in canonical form (SetCanonical skips normalizing them)
// and the common values, as bytes.
var (
	hdrSignature    = []byte("Attest-Signature")
	hdrCacheControl = []byte("Cache-Control")
	hdrAllow        = []byte("Allow")
	hdrRetryAfter   = []byte("Retry-After")
	hdrAltSvc       = []byte("Alt-Svc")
	ctJSON          = []byte("application/json")
	noStore         = []byte("no-store")
)

func (s *Server) write(ctx *fasthttp.RequestCtx, r *api.Response) {
	ctx.SetStatusCode(r.Status)
	h := &ctx.Response.Header
	h.SetContentTypeBytes(ctJSON)
	switch r.CacheControl {
	case "":
	case "no-store":
		h.SetCanonical(hdrCacheControl, noStore)
	default:
		h.SetCanonical(hdrCacheControl, []byte(r.CacheControl))
	}
	if r.Allow != "" {
		h.SetCanonical(hdrAllow, []byte(r.Allow))
	}
	if r.RetryAfter > 0 {
		h.SetCanonical(hdrRetryAfter, strconv.AppendInt(nil, int64(r.RetryAfter), 10))
	}
	if len(s.altSvc) > 0 {
		h.SetCanonical(hdrAltSvc, s.altSvc)
	}
	ctx.SetBody(r.Body) // copies
}

// remoteIP is the client address of a connection (zero when unknown).
func remoteIP(a net.Addr) netip.Addr {
	if t, ok := a.(*net.TCPAddr); ok {
		ip, _ := netip.AddrFromSlice(t.IP)
		return ip.Unmap()
	}
	return netip.Addr{}
}

// readLimited reads r into buf up to attest.MaxBodyBytes; tooLarge reports
// more (the rest is not read: the connection closes after the answer).
func readLimited(r io.Reader, buf []byte) (body []byte, tooLarge bool) {
	lr := io.LimitReader(r, attest.MaxBodyBytes+1)
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := lr.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err != nil {
			break
		}
	}
	return buf, len(buf) > attest.MaxBodyBytes
}
