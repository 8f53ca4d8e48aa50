package daemon

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"
)

// requestIDKey keys the request id in a request's context (a string in a
// context.Context for HTTP/3; a *requestID fasthttp user value for
// HTTP/1.1, which fasthttp's RequestCtx.Value also returns).
type requestIDKey struct{}

// RequestIDHeader carries the request id, in and out. An incoming id is
// kept when it is short and plain (a load balancer's), else replaced.
const RequestIDHeader = "X-Request-Id"

// requestIDs makes request ids: a random per-process prefix and a counter,
// unique across nodes and cheap on the hot path.
type requestIDs struct {
	prefix string
	n      atomic.Uint64
}

func newRequestIDs() *requestIDs {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return &requestIDs{prefix: hex.EncodeToString(b[:]) + "-"}
}

func (g *requestIDs) next(incoming []byte) string {
	if validRequestID(incoming) {
		return string(incoming)
	}
	return g.prefix + strconv.FormatUint(g.n.Add(1), 36)
}

// maxRequestIDLen is the longest id: an incoming one's limit (64) and more
// than the prefix (13) and a base-36 uint64 (13).
const maxRequestIDLen = 64

// requestID is the id of an HTTP/1.1 request, kept as a fasthttp user value:
// a pointer, so that storing it allocates nothing more, and its bytes are
// made a string only when a line is logged.
type requestID struct {
	b [maxRequestIDLen]byte
	n uint8
}

func (id *requestID) bytes() []byte { return id.b[:id.n] }

// set makes id the incoming id when it is valid, else a new one.
func (g *requestIDs) set(id *requestID, incoming []byte) {
	if validRequestID(incoming) {
		id.n = uint8(copy(id.b[:], incoming))
		return
	}
	b := append(id.b[:0], g.prefix...)
	b = strconv.AppendUint(b, g.n.Add(1), 36)
	id.n = uint8(len(b))
}

func validRequestID(b []byte) bool {
	if len(b) == 0 || len(b) > maxRequestIDLen {
		return false
	}
	for _, c := range b {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-', c == '_', c == '.':
		default:
			return false
		}
	}
	return true
}

// requestIDFrom returns the request id of ctx, "" if none.
func requestIDFrom(ctx context.Context) string {
	if ctx == nil {
		return ""
	}
	switch id := ctx.Value(requestIDKey{}).(type) {
	case string:
		return id
	case *requestID:
		return string(id.bytes())
	}
	return ""
}

// withRequestID is a slog.Handler that adds the request id of the context
// a record is logged with (Logger.InfoContext and friends).
type withRequestID struct{ slog.Handler }

func (h withRequestID) Handle(ctx context.Context, r slog.Record) error {
	if id := requestIDFrom(ctx); id != "" {
		r.AddAttrs(slog.String("request_id", id))
	}
	return h.Handler.Handle(ctx, r)
}

func (h withRequestID) WithAttrs(as []slog.Attr) slog.Handler {
	return withRequestID{h.Handler.WithAttrs(as)}
}

func (h withRequestID) WithGroup(name string) slog.Handler {
	return withRequestID{h.Handler.WithGroup(name)}
}

// accessLog tags each request with an id (header and context) and logs it
// at debug level; answers of 500 and above are logged at warn.
type accessLog struct {
	ids *requestIDs
	log *slog.Logger
	now func() time.Time
}

// level is the level of the line for an answer of status, and whether
// it is logged at all.
func (a *accessLog) level(ctx context.Context, status int) (slog.Level, bool) {
	lvl := slog.LevelDebug
	if status >= 500 {
		lvl = slog.LevelWarn
	}
	return lvl, a.log.Enabled(ctx, lvl)
}

func (a *accessLog) done(ctx context.Context, lvl slog.Level, transport, method, path string, status int, start time.Time) {
	a.log.LogAttrs(ctx, lvl, "request", slog.String("transport", transport), slog.String("method", method),
		slog.String("path", path), slog.Int("status", status), slog.Duration("duration", a.now().Sub(start)))
}

// fasthttp wraps an HTTP/1.1 handler. Per request it allocates the
// requestID alone; method and path become strings only for a line logged.
func (a *accessLog) fasthttp(next fasthttp.RequestHandler) fasthttp.RequestHandler {
	return func(ctx *fasthttp.RequestCtx) {
		start := a.now()
		id := new(requestID)
		a.ids.set(id, ctx.Request.Header.Peek(RequestIDHeader))
		ctx.SetUserValue(requestIDKey{}, id)
		ctx.Response.Header.SetBytesV(RequestIDHeader, id.bytes())
		next(ctx)
		status := ctx.Response.StatusCode()
		if lvl, ok := a.level(ctx, status); ok {
			a.done(ctx, lvl, transportHTTP1, string(ctx.Method()), string(ctx.Path()), status, start)
		}
	}
}

// http wraps an HTTP/3 handler.
func (a *accessLog) http(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := a.now()
		id := a.ids.next([]byte(r.Header.Get(RequestIDHeader)))
		ctx := context.WithValue(r.Context(), requestIDKey{}, id)
		w.Header()[RequestIDHeader] = []string{id}
		sw := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r.WithContext(ctx))
		if lvl, ok := a.level(ctx, sw.status); ok {
			a.done(ctx, lvl, transportHTTP3, r.Method, r.URL.Path, sw.status, start)
		}
	})
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}
