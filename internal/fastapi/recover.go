package fastapi

import (
	"fmt"
	"net"
	"net/http"
	"runtime"

	"github.com/valyala/fasthttp"

	"github.com/attestd/attestd/internal/apierr"
)

// recoverPanic, deferred by the server's handlers, keeps a panic to the
// request that caused it: the request is answered 500 internal (whatever
// the handler had set is dropped), the connection is closed after the
// answer (what was read of it is in an unknown state), and the panic is
// logged once with its stack and counted. A panic with
// http.ErrAbortHandler is a handler's deliberate abort, not a crash: the
// connection is closed without an answer, and nothing is logged or
// counted.
func (s *Server) recoverPanic(ctx *fasthttp.RequestCtx) {
	v := recover()
	if v == nil {
		return
	}
	if v == http.ErrAbortHandler {
		Abort(ctx)
		return
	}
	s.cfg.Log.ErrorContext(ctx, "request panicked", "transport", "http1", "panic", fmt.Sprint(v), "stack", Stack())
	if s.cfg.Panicked != nil {
		s.cfg.Panicked()
	}
	AnswerInternal(ctx)
}

// AnswerInternal replaces ctx's answer with a 500 internal error (the body
// of PROTOCOL.md) and closes the connection after it. For a recovered
// panic; a body stream a handler had set is closed.
func AnswerInternal(ctx *fasthttp.RequestCtx) {
	ctx.Response.Reset()
	ctx.SetStatusCode(apierr.ErrInternal.Status)
	h := &ctx.Response.Header
	h.SetContentTypeBytes(ctJSON)
	h.SetCanonical(hdrCacheControl, noStore)
	ctx.SetBody(apierr.ErrInternal.AppendBody(nil))
	ctx.SetConnectionClose()
}

// Abort ends ctx's connection without an answer: the client sees the
// connection close, never an answer that looks complete.
func Abort(ctx *fasthttp.RequestCtx) {
	ctx.Response.Reset()
	ctx.HijackSetNoResponse(true)
	ctx.Hijack(func(net.Conn) {}) // fasthttp closes the connection after it
}

// Stack is the calling goroutine's stack, for a panic's log line (called
// in the deferred function that recovered, it holds the panic's frames).
// At most 64 KiB, as net/http logs.
func Stack() string {
	buf := make([]byte, 64<<10)
	return string(buf[:runtime.Stack(buf, false)])
}
