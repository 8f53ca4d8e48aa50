package accesslog

import (
	"bytes"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/valyala/fasthttp"
)

// TestRequestIDsAreTheNodesOwn: ids are unique, carry the process's
// prefix and fit their array; the client's id is kept apart, cut to
// maxClientIDLen and with every unsafe byte made '_'.
func TestRequestIDsAreTheNodesOwn(t *testing.T) {
	g := newRequestIDs()
	var a, b requestID
	g.set(&a, []byte("lb-1234.abc_Z"))
	g.set(&b, nil)
	if string(a.bytes()) == string(b.bytes()) || !strings.HasPrefix(string(a.bytes()), g.prefix) || string(a.bytes()) == "lb-1234.abc_Z" {
		t.Errorf("ids %q %q", a.bytes(), b.bytes())
	}
	if string(a.clientBytes()) != "lb-1234.abc_Z" || len(b.clientBytes()) != 0 {
		t.Errorf("client ids %q %q", a.clientBytes(), b.clientBytes())
	}
	g.n.Store(^uint64(0) - 1) // the longest id fits
	g.set(&a, nil)
	if len(a.bytes()) != len(g.prefix)+13 {
		t.Errorf("longest id %q", a.bytes())
	}
	for in, want := range map[string]string{
		"a b":                    "a_b",
		"x\nlevel=ERROR msg=\"z": "x_level=ERROR_msg=_z",
		"é":                      "__",
		"Root=1-abc/def+g:h":     "Root=1-abc/def+g:h",
		strings.Repeat("a", 500): strings.Repeat("a", maxClientIDLen),
	} {
		g.set(&a, []byte(in))
		if got := string(a.clientBytes()); got != want {
			t.Errorf("client id %q kept as %q, want %q", in, got, want)
		}
	}
}

// TestClientRequestIDLoggedApart: the client's id is in every line about
// the request as client_request_id, sanitised and bounded; a request
// without one has no such field.
func TestClientRequestIDLoggedApart(t *testing.T) {
	var buf bytes.Buffer
	log := jsonLogger(&buf)
	a := New(Config{Log: log})
	h := a.WrapHTTP(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		log.InfoContext(r.Context(), "handler line")
	}))
	hostile := "abc\"\n" + strings.Repeat("z", 100)
	for _, id := range []string{hostile, ""} {
		req := httptest.NewRequest("GET", "/v1/x", nil)
		if id != "" {
			req.Header.Set(Header, id)
		}
		h.ServeHTTP(httptest.NewRecorder(), req)
	}
	lines := logLines(t, &buf)
	if len(lines) != 4 {
		t.Fatalf("%d lines:\n%s", len(lines), buf.String())
	}
	want := "abc__" + strings.Repeat("z", maxClientIDLen-5)
	for i, l := range lines {
		got, has := l["client_request_id"]
		switch {
		case i < 2 && got != want:
			t.Errorf("line %d: client_request_id %v, want %q", i, got, want)
		case i >= 2 && has:
			t.Errorf("line %d: client_request_id %v for a request without one", i, got)
		}
	}
}

// TestAccessLogHTTP1: the HTTP/1.1 wrapper hands the handler's context
// the id it answers, logs the access line with it, and allocates once
// per request when the line is not logged.
func TestAccessLogHTTP1(t *testing.T) {
	var buf strings.Builder
	lvl := new(slog.LevelVar)
	lvl.Set(slog.LevelInfo)
	a := New(Config{Log: slog.New(LogHandler(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: lvl})))})
	var seen string
	h := a.WrapHandler(func(ctx *fasthttp.RequestCtx) {
		seen = IDFrom(ctx)
		ctx.SetStatusCode(200)
	})
	var ctx fasthttp.RequestCtx
	serve := func(incoming string) string {
		ctx.Request.Reset()
		ctx.Response.Reset()
		ctx.Request.SetRequestURI("/v1/x/../challenge?q=1")
		if incoming != "" {
			ctx.Request.Header.Set(Header, incoming)
		}
		h(&ctx)
		if got := string(ctx.Response.Header.Peek(Header)); got != seen {
			t.Errorf("answered id %q, the handler saw %q", got, seen)
		}
		return seen
	}
	a1, a2 := serve("a b"), serve("")
	if a1 == a2 || !strings.HasPrefix(a1, a.ids.prefix) || !strings.HasPrefix(a2, a.ids.prefix) {
		t.Errorf("made ids %q %q", a1, a2)
	}
	lvl.Set(slog.LevelDebug)
	id := serve("rid-logged")
	for _, want := range []string{"request_id=" + id, "client_request_id=rid-logged", "status=200", "path=/v1/x/../challenge "} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("access line lacks %q: %s", want, buf.String())
		}
	}
	lvl.Set(slog.LevelInfo)
	if raceEnabled {
		return // allocation counts are meaningless under -race
	}
	h = a.WrapHandler(func(*fasthttp.RequestCtx) {})
	if n := testing.AllocsPerRun(200, func() {
		ctx.Request.Reset()
		ctx.Request.Header.Set(Header, "lb-1")
		h(&ctx)
	}); n > 1 {
		t.Errorf("%v allocations per request, want ≤ 1", n)
	}
}
