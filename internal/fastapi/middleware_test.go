package fastapi

import (
	"bufio"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
)

// stamp is a Middleware that marks every answer with which of the
// server's handlers it wrapped.
type stamp struct{}

func (stamp) WrapHandler(next fasthttp.RequestHandler) fasthttp.RequestHandler {
	return func(ctx *fasthttp.RequestCtx) {
		next(ctx)
		ctx.Response.Header.Set("X-Wrapped", "handler")
	}
}

func (stamp) WrapErrorHandler(next ErrorHandler) ErrorHandler {
	return func(ctx *fasthttp.RequestCtx, err error) {
		next(ctx, err)
		ctx.Response.Header.Set("X-Wrapped", "error")
	}
}

// TestMiddlewareWrapsBothHandlers: Config.Middleware wraps the handler of
// the requests fasthttp read and the ErrorHandler of those it could not
// (a malformed request), so the access log's request id is on both, over
// plaintext and over TLS built with TLSListener.
func TestMiddlewareWrapsBothHandlers(t *testing.T) {
	for _, mode := range []string{"", "beneath"} {
		ts := startServer(t, Config{Middleware: stamp{}}, mode)
		c := ts.dial(t)
		_ = c.SetDeadline(time.Now().Add(10 * time.Second))
		br := bufio.NewReader(c)
		resp, _ := ask(t, br, c, "GET", "/v1/nothing")
		if resp.StatusCode != 404 || resp.Header.Get("X-Wrapped") != "handler" {
			t.Errorf("tls %q: a read request answered %d, X-Wrapped %q", mode, resp.StatusCode, resp.Header.Get("X-Wrapped"))
		}
		c = ts.dial(t)
		_ = c.SetDeadline(time.Now().Add(10 * time.Second))
		if _, err := io.WriteString(c, "GET /v1/nothing HTTP/1.1\r\nHost: attestd.test\r\nContent-Length: x\r\n\r\n"); err != nil {
			t.Fatal(err)
		}
		resp, err := http.ReadResponse(bufio.NewReader(c), &http.Request{Method: "GET"})
		if err != nil {
			t.Fatalf("tls %q: malformed request: %v", mode, err)
		}
		resp.Body.Close()
		if resp.StatusCode != 400 || resp.Header.Get("X-Wrapped") != "error" {
			t.Errorf("tls %q: a malformed request answered %d, X-Wrapped %q", mode, resp.StatusCode, resp.Header.Get("X-Wrapped"))
		}
	}
}
