// Package h3api is the HTTP/3 adapter of the public endpoints: a net/http
// handler that copies the request into an api.Request, calls the
// transport-neutral api.Handler as the fasthttp adapter does, and writes
// its api.Response. Same body limit (64 KiB, checked before reading past
// it), same error bodies; a request is admitted (the bound on requests in
// flight) before its body is read. Server (server.go) serves it over QUIC
// with the bounds of the HTTP/1.1 server: read and write deadlines per
// request, an idle timeout, and bounds on streams per connection and
// connections per client address.
//
// Only packages of this module import it. A *Handler and a *Server are
// safe for concurrent use.
package h3api

import (
	"errors"
	"io"
	"net/http"
	"net/netip"
	"strconv"
	"sync"

	"github.com/attestd/attestd/internal/api"
	"github.com/attestd/attestd/internal/apierr"
	"github.com/attestd/attestd/internal/attest"
)

// Config configures a Handler.
type Config struct {
	Handler *api.Handler
	// EarlyData reports whether r arrived in 0-RTT data (replayable); such
	// POSTs are refused with 425 Too Early. Nil: the listener refuses
	// 0-RTT (quic.Config.Allow0RTT false), so nothing arrives early.
	EarlyData func(r *http.Request) bool
}

// Handler serves the public endpoints over net/http (HTTP/3).
type Handler struct {
	cfg Config
	// serve is cfg.Handler for requests already admitted (ServeHTTP
	// admits each before reading its body).
	serve *api.Handler
	pool  sync.Pool
}

type exchange struct {
	req  api.Request
	resp api.Response
	body []byte
	m    []byte
	path []byte
	// target is the request target as sent; path is its path part.
	target []byte
}

// New returns a Handler.
func New(cfg Config) *Handler {
	h := &Handler{cfg: cfg, serve: cfg.Handler.AdmittedFirst()}
	h.pool.New = func() any {
		return &exchange{resp: api.Response{Body: make([]byte, 0, 2048)}, body: make([]byte, 0, 4096)}
	}
	return h
}

// errTooEarly answers a POST that arrived in 0-RTT data (RFC 8470).
var errTooEarly = apierr.ErrBadRequest.WithMessage("request sent in 0-RTT early data; retry after the handshake")

// errBodyUnread answers a request whose body could not be read: it broke
// off, or did not arrive before the read deadline (Server.ReadTimeout).
var errBodyUnread = apierr.ErrBadRequest.WithMessage("the request body could not be read (it broke off or came too slowly)")

// ServeHTTP implements http.Handler. The request is admitted before its
// body is read, and holds its place until the answer is written: a body
// that arrives slowly is counted among the requests in flight.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	x := h.pool.Get().(*exchange)
	defer h.pool.Put(x)
	x.resp.Reset()
	if r.Method != http.MethodGet && r.Method != http.MethodHead && h.cfg.EarlyData != nil && h.cfg.EarlyData(r) {
		h.cfg.Handler.Fail(&x.resp, errTooEarly)
		x.resp.Status = http.StatusTooEarly
		h.write(w, &x.resp)
		return
	}
	// Route on the :path as sent (r.URL.Path is net/url's decoded form).
	x.target = append(x.target[:0], r.RequestURI...)
	x.path = api.TargetPath(x.target)
	release, ok := h.cfg.Handler.Admit(r.Context(), x.path, &x.resp)
	if !ok {
		h.write(w, &x.resp)
		return
	}
	defer release()
	body, tooLarge, err := readBody(r, x.body[:0])
	if err != nil {
		h.cfg.Handler.Fail(&x.resp, errBodyUnread)
		h.write(w, &x.resp)
		return
	}
	x.body = body[:0]
	x.m = append(x.m[:0], r.Method...)
	x.req = api.Request{
		Method:      x.m,
		Path:        x.path,
		ContentType: []byte(r.Header.Get("Content-Type")),
		TooLarge:    tooLarge,
	}
	if ap, err := netip.ParseAddrPort(r.RemoteAddr); err == nil {
		x.req.RemoteIP = ap.Addr().Unmap()
	}
	if v, ok := r.Header["Attest-Signature"]; ok && len(v) > 0 {
		x.req.Signature = []byte(v[0])
	}
	if !tooLarge {
		x.req.Body = body
	}
	h.serve.Serve(r.Context(), &x.req, &x.resp)
	x.req = api.Request{}
	h.write(w, &x.resp)
}

// readBody reads at most MaxBodyBytes into buf. A declared length over the
// limit is refused without reading; tooLarge reports either case.
func readBody(r *http.Request, buf []byte) (body []byte, tooLarge bool, err error) {
	if r.ContentLength > attest.MaxBodyBytes {
		return buf, true, nil
	}
	if r.Body == nil || r.Body == http.NoBody {
		return buf, false, nil
	}
	lr := io.LimitedReader{R: r.Body, N: attest.MaxBodyBytes + 1}
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := lr.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return buf, false, err
		}
	}
	if len(buf) > attest.MaxBodyBytes {
		return buf[:0], true, nil
	}
	return buf, false, nil
}

func (h *Handler) write(w http.ResponseWriter, resp *api.Response) {
	hd := w.Header()
	hd["Content-Type"] = []string{"application/json"}
	hd["Content-Length"] = []string{strconv.Itoa(len(resp.Body))}
	if resp.CacheControl != "" {
		hd["Cache-Control"] = []string{resp.CacheControl}
	}
	if resp.Allow != "" {
		hd["Allow"] = []string{resp.Allow}
	}
	if resp.RetryAfter > 0 {
		hd["Retry-After"] = []string{strconv.Itoa(resp.RetryAfter)}
	}
	w.WriteHeader(resp.Status)
	_, _ = w.Write(resp.Body)
}
