package proxy

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/valyala/fasthttp"

	"github.com/attestd/attestd/crypto/token"
)

// ridKey keys a request id in a request's context, as the daemon does.
type ridKey struct{}

// ridHandler adds the request id found in the context to each record, the
// way the daemon's log handler does.
type ridHandler struct{ slog.Handler }

func (h ridHandler) Handle(ctx context.Context, r slog.Record) error {
	if id, ok := ctx.Value(ridKey{}).(string); ok {
		r.AddAttrs(slog.String("request_id", id))
	}
	return h.Handler.Handle(ctx, r)
}

// TestProxyLogsCarryTheRequestContext: the proxy logs a failure with the
// request's context, so the line carries the request id the daemon put
// there, on both adapters.
func TestProxyLogsCarryTheRequestContext(t *testing.T) {
	w := newWorld(t)
	w.cfg.Log = slog.New(ridHandler{slog.NewTextHandler(&lockedBuf{b: w.logs}, &slog.HandlerOptions{Level: slog.LevelDebug})})
	p, err := New(w.cfg)
	if err != nil {
		t.Fatal(err)
	}
	tok := w.token(token.Claims{})

	r := httptest.NewRequest("GET", "http://edge/v1/proxy/down/x", nil)
	r.Header.Set("Attest-Token", tok)
	r = r.WithContext(context.WithValue(r.Context(), ridKey{}, "rid-nethttp"))
	rec := httptest.NewRecorder()
	p.ServeHTTP(rec, r)
	if rec.Code != http.StatusBadGateway {
		t.Fatalf("net/http: %d %s", rec.Code, rec.Body)
	}

	var fc fasthttp.RequestCtx
	fc.Request.SetRequestURI("http://edge/v1/proxy/down/x")
	fc.Request.Header.Set("Attest-Token", tok)
	fc.SetUserValue(ridKey{}, "rid-fasthttp")
	p.Fasthttp(&fc)
	if fc.Response.StatusCode() != http.StatusBadGateway {
		t.Fatalf("fasthttp: %d %s", fc.Response.StatusCode(), fc.Response.Body())
	}

	for _, id := range []string{"rid-nethttp", "rid-fasthttp"} {
		found := false
		for _, line := range strings.Split(w.logs.String(), "\n") {
			if strings.Contains(line, "upstream failed") && strings.Contains(line, "request_id="+id) {
				found = true
			}
		}
		if !found {
			t.Errorf("no upstream failure logged with request_id %s:\n%s", id, w.logs)
		}
	}
}
