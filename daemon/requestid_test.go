package daemon

import (
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
)

// TestAccessLogHTTP1: the HTTP/1.1 wrapper keeps a plain incoming id or
// makes one, answers it, and hands it to the handler's context; it
// allocates once per request when the line is not logged.
func TestAccessLogHTTP1(t *testing.T) {
	var buf strings.Builder
	lvl := new(slog.LevelVar)
	lvl.Set(slog.LevelInfo)
	a := &accessLog{ids: newRequestIDs(), log: slog.New(withRequestID{slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: lvl})}), now: time.Now}
	var seen string
	h := a.fasthttp(func(ctx *fasthttp.RequestCtx) {
		seen = requestIDFrom(ctx)
		ctx.SetStatusCode(200)
	})
	var ctx fasthttp.RequestCtx
	serve := func(incoming string) string {
		ctx.Request.Reset()
		ctx.Response.Reset()
		if incoming != "" {
			ctx.Request.Header.Set(RequestIDHeader, incoming)
		}
		h(&ctx)
		if got := string(ctx.Response.Header.Peek(RequestIDHeader)); got != seen {
			t.Errorf("answered id %q, the handler saw %q", got, seen)
		}
		return seen
	}
	if got := serve("lb-1234.abc_Z"); got != "lb-1234.abc_Z" {
		t.Errorf("plain incoming id replaced: %q", got)
	}
	a1, a2 := serve("a b"), serve("")
	if a1 == a2 || !strings.HasPrefix(a1, a.ids.prefix) || !strings.HasPrefix(a2, a.ids.prefix) {
		t.Errorf("made ids %q %q", a1, a2)
	}
	lvl.Set(slog.LevelDebug)
	serve("rid-logged")
	if !strings.Contains(buf.String(), "request_id=rid-logged") || !strings.Contains(buf.String(), "status=200") {
		t.Errorf("access line: %s", buf.String())
	}
	lvl.Set(slog.LevelInfo)
	if raceEnabled {
		return // allocation counts are meaningless under -race
	}
	h = a.fasthttp(func(*fasthttp.RequestCtx) {})
	if n := testing.AllocsPerRun(200, func() {
		ctx.Request.Reset()
		ctx.Request.Header.Set(RequestIDHeader, "lb-1")
		h(&ctx)
	}); n > 1 {
		t.Errorf("%v allocations per request, want ≤ 1", n)
	}
}
