// Package accesslog is the outer layer of the public listeners, over both
// transports and every handler behind them (the API and the proxy): per
// request it makes the node's request id (requestid.go), puts it in the
// request's context and in the answer, logs the request (the access
// line), and recovers a panic that reached it. LogHandler makes every
// line logged with a request's context carry its ids.
//
// It is safe for concurrent use. Only packages of this module import it;
// it imports no store and no core.
package accesslog

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/attestd/attestd/internal/api"
	"github.com/attestd/attestd/internal/apierr"
	"github.com/attestd/attestd/internal/fastapi"
)

// Transports, as logged (transport=) and as Config.Panicked is told.
const (
	TransportHTTP1 = "http1"
	TransportHTTP3 = "http3"
)

// Config configures a Log.
type Config struct {
	// Log receives the access lines and the recovered panics; wrap its
	// handler with LogHandler so that they carry the request ids.
	Log *slog.Logger
	// Now is the clock of the durations logged (default time.Now).
	Now func() time.Time
	// Panicked counts a recovered panic by transport (nil: not counted).
	Panicked func(transport string)
}

// New returns a Log with request ids of its own: a random per-process
// prefix and a counter.
func New(cfg Config) *Log {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	return &Log{ids: newRequestIDs(), log: cfg.Log, now: cfg.Now, panicked: cfg.Panicked}
}

var _ fastapi.Middleware = (*Log)(nil)

// Log is the outer wrapper of the public listeners. Per request it makes
// the node's request id, puts it in the request's context and in the
// answer, whatever the handler did to the answer's headers, and logs the
// request at debug level (at warn from 500). It recovers a panic that
// reached it: answered 500 internal with the id when nothing was written
// yet, logged once with its stack, counted; http.ErrAbortHandler keeps its
// meaning (the answer is cut, nothing is logged as a crash).
type Log struct {
	ids      *requestIDs
	log      *slog.Logger
	now      func() time.Time
	panicked func(transport string) // nil: not counted
}

// maxLoggedPath bounds the path of an access line.
const maxLoggedPath = 256

// level is the level of the line for an answer of status, and whether
// it is logged at all.
func (a *Log) level(ctx context.Context, status int) (slog.Level, bool) {
	lvl := slog.LevelDebug
	if status >= 500 {
		lvl = slog.LevelWarn
	}
	return lvl, a.log.Enabled(ctx, lvl)
}

// done logs the access line; target is the request target as sent, of
// which the path is logged (no query), cut to maxLoggedPath bytes.
func (a *Log) done(ctx context.Context, lvl slog.Level, transport, method string, target []byte, status int, start time.Time) {
	path := api.TargetPath(target)
	if len(path) > maxLoggedPath {
		path = append(path[:maxLoggedPath:maxLoggedPath], "..."...)
	}
	a.log.LogAttrs(ctx, lvl, "request", slog.String("transport", transport), slog.String("method", method),
		slog.String("path", string(path)), slog.Int("status", status), slog.Duration("duration", a.now().Sub(start)))
}

// crashed logs a recovered panic, once, with its stack (it must be called
// by the deferred function that recovered, whose stack holds the panic's
// frames) and the request's ids, and counts it.
func (a *Log) crashed(ctx context.Context, transport string, v any) {
	a.log.ErrorContext(ctx, "request panicked", "transport", transport, "panic", fmt.Sprint(v), "stack", fastapi.Stack())
	if a.panicked != nil {
		a.panicked(transport)
	}
}

// WrapHandler wraps an HTTP/1.1 handler (fastapi.Middleware). Per request
// it allocates the requestID alone; method and path become strings only
// for a line logged.
func (a *Log) WrapHandler(next fasthttp.RequestHandler) fasthttp.RequestHandler {
	return func(ctx *fasthttp.RequestCtx) {
		start := a.now()
		id := a.tag(ctx)
		defer a.finishHTTP1(ctx, id, start)
		next(ctx)
	}
}

// WrapErrorHandler wraps the HTTP/1.1 server's ErrorHandler (requests it
// could not read), so that its answers carry an id too
// (fastapi.Middleware).
func (a *Log) WrapErrorHandler(next func(*fasthttp.RequestCtx, error)) func(*fasthttp.RequestCtx, error) {
	return func(ctx *fasthttp.RequestCtx, err error) {
		start := a.now()
		id := a.tag(ctx)
		defer a.finishHTTP1(ctx, id, start)
		next(ctx, err)
	}
}

func (a *Log) tag(ctx *fasthttp.RequestCtx) *requestID {
	id := new(requestID)
	a.ids.set(id, ctx.Request.Header.Peek(Header))
	ctx.SetUserValue(requestIDKey{}, id)
	return id
}

// finishHTTP1, deferred, recovers a panic, stamps the id on the answer
// (last, so that no handler's Response.Reset or copied header drops or
// doubles it) and logs the access line.
func (a *Log) finishHTTP1(ctx *fasthttp.RequestCtx, id *requestID, start time.Time) {
	if v := recover(); v != nil {
		if v == http.ErrAbortHandler {
			fastapi.Abort(ctx)
		} else {
			a.crashed(ctx, TransportHTTP1, v)
			fastapi.AnswerInternal(ctx)
		}
	}
	h := &ctx.Response.Header
	h.Del(Header)
	h.SetBytesV(Header, id.bytes())
	status := ctx.Response.StatusCode()
	if lvl, ok := a.level(ctx, status); ok {
		a.done(ctx, lvl, TransportHTTP1, string(ctx.Method()), ctx.Request.Header.RequestURI(), status, start)
	}
}

// WrapHTTP wraps an HTTP/3 handler.
func (a *Log) WrapHTTP(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := a.now()
		id := new(requestID)
		a.ids.set(id, []byte(r.Header.Get(Header)))
		ctx := context.WithValue(r.Context(), requestIDKey{}, id)
		sw := &statusWriter{ResponseWriter: w, id: []string{string(id.bytes())}}
		defer a.finishHTTP3(ctx, sw, r, start)
		next.ServeHTTP(sw, r.WithContext(ctx))
	})
}

// finishHTTP3, deferred, recovers a panic: answered 500 internal when
// nothing was written yet, else the answer is cut (re-panicking
// http.ErrAbortHandler, on which quic-go resets the stream) so that it
// never looks complete. An http.ErrAbortHandler from the handler goes on
// to quic-go as it came. The stream ends after the answer; the QUIC
// connection and its other requests are not touched.
func (a *Log) finishHTTP3(ctx context.Context, sw *statusWriter, r *http.Request, start time.Time) {
	if v := recover(); v != nil {
		if v == http.ErrAbortHandler {
			panic(v)
		}
		a.crashed(ctx, TransportHTTP3, v)
		if sw.status != 0 {
			panic(http.ErrAbortHandler)
		}
		writeInternal(sw)
	}
	if sw.status == 0 {
		// Nothing written: the server answers 200 with these headers.
		sw.Header()[Header] = sw.id
	}
	status := sw.status
	if status == 0 {
		status = http.StatusOK
	}
	if lvl, ok := a.level(ctx, status); ok {
		a.done(ctx, lvl, TransportHTTP3, r.Method, []byte(r.RequestURI), status, start)
	}
}

// writeInternal answers 500 internal, dropping the headers a handler had
// set.
func writeInternal(w http.ResponseWriter) {
	body := apierr.ErrInternal.AppendBody(nil)
	h := w.Header()
	clear(h)
	h["Content-Type"] = []string{"application/json"}
	h["Cache-Control"] = []string{"no-store"}
	h["Content-Length"] = []string{strconv.Itoa(len(body))}
	w.WriteHeader(apierr.ErrInternal.Status)
	_, _ = w.Write(body)
}

// statusWriter records the status of an answer and stamps the request id
// on its headers when they are written (after any handler's changes).
// Flush and Unwrap reach the writer beneath, so http.NewResponseController
// (flushes of a streamed answer, deadlines) works through it.
type statusWriter struct {
	http.ResponseWriter
	id     []string
	status int
}

// begin stamps the id before the headers go out; status is the final
// status the headers carry (a 1xx is not final).
func (w *statusWriter) begin(status int) {
	w.Header()[Header] = w.id
	if w.status == 0 && status >= 200 {
		w.status = status
	}
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.begin(code)
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.begin(http.StatusOK)
	}
	return w.ResponseWriter.Write(p)
}

// FlushError flushes the writer beneath (http.ErrNotSupported when it
// cannot); the headers go out first, with the id.
func (w *statusWriter) FlushError() error {
	if w.status == 0 {
		w.begin(http.StatusOK)
	}
	return http.NewResponseController(w.ResponseWriter).Flush()
}

// Flush implements http.Flusher.
func (w *statusWriter) Flush() { _ = w.FlushError() }

// Unwrap returns the writer beneath (for http.ResponseController).
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
