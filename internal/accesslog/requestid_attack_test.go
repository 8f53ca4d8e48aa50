package accesslog

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/valyala/fasthttp"
)

// TestClientRequestIDNeverReplacesOurs: the node trusted an incoming
// X-Request-Id and answered and logged it as the request's id, so a client
// could make its log lines collide with a victim's (send the victim's id).
// Now the node's own id is the request id, over both transports: in the
// answer, in the handler's context, in every line as request_id. The
// client's id is logged beside it as client_request_id, never in its place.
func TestClientRequestIDNeverReplacesOurs(t *testing.T) {
	var buf bytes.Buffer
	log := jsonLogger(&buf)
	a := New(Config{Log: log})
	const victim = "victim-request-1234"

	var seen1 string
	h1 := a.WrapHandler(func(ctx *fasthttp.RequestCtx) {
		seen1 = IDFrom(ctx)
		log.InfoContext(ctx, "handler line")
		ctx.SetStatusCode(200)
	})
	var ctx fasthttp.RequestCtx
	ctx.Request.Header.Set(Header, victim)
	ctx.Request.SetRequestURI("/v1/challenge")
	h1(&ctx)
	got1 := string(ctx.Response.Header.Peek(Header))

	var seen3 string
	h3 := a.WrapHTTP(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen3 = IDFrom(r.Context())
		log.InfoContext(r.Context(), "handler line")
		w.WriteHeader(200)
	}))
	req := httptest.NewRequest("POST", "/v1/challenge", nil)
	req.Header.Set(Header, victim)
	rec := httptest.NewRecorder()
	h3.ServeHTTP(rec, req)
	got3 := rec.Header().Get(Header)

	for _, tc := range []struct{ transport, answered, seen string }{{"http1", got1, seen1}, {"http3", got3, seen3}} {
		if tc.answered == victim || tc.seen == victim || !strings.HasPrefix(tc.answered, a.ids.prefix) || tc.seen != tc.answered {
			t.Errorf("%s: answered id %q, handler saw %q; want the node's own (prefix %q), never the client's", tc.transport, tc.answered, tc.seen, a.ids.prefix)
		}
	}
	lines := logLines(t, &buf)
	if len(lines) != 4 {
		t.Fatalf("%d lines, want 4 (a handler line and an access line per transport):\n%s", len(lines), buf.String())
	}
	for _, l := range lines {
		if l["request_id"] == victim {
			t.Errorf("the client's id was logged as the request id: %v", l)
		}
		if l["request_id"] != got1 && l["request_id"] != got3 {
			t.Errorf("line without the node's id: %v", l)
		}
	}
}

// TestEveryAnswerCarriesOurRequestID: the proxy's answers carried no id
// over HTTP/1.1 (it resets the answer it writes). The id is stamped last, so that
// whatever a handler did (reset the answer, copy an upstream's
// X-Request-Id, twice) the answer carries exactly one: the node's. Over
// HTTP/3 likewise when the handler set its own, wrote nothing, or flushed
// before writing.
func TestEveryAnswerCarriesOurRequestID(t *testing.T) {
	var buf bytes.Buffer
	log := jsonLogger(&buf)
	a := New(Config{Log: log})
	for name, h := range map[string]fasthttp.RequestHandler{
		"reset": func(ctx *fasthttp.RequestCtx) { ctx.Response.Reset(); ctx.SetStatusCode(401) },
		"upstream-ids": func(ctx *fasthttp.RequestCtx) {
			ctx.Response.Header.Add(Header, "upstream-1")
			ctx.Response.Header.Add(Header, "upstream-2")
		},
	} {
		var ctx fasthttp.RequestCtx
		a.WrapHandler(h)(&ctx)
		checkOneID(t, "http1 "+name, a, ctx.Response.Header.PeekAll(Header))
	}

	for name, h := range map[string]http.HandlerFunc{
		"own-id": func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set(Header, "upstream")
			w.WriteHeader(502)
		},
		"nothing": func(w http.ResponseWriter, _ *http.Request) { w.Header().Del(Header) },
		"write":   func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("x")) },
		"flush": func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set(Header, "upstream")
			_ = http.NewResponseController(w).Flush()
		},
	} {
		rec := httptest.NewRecorder()
		a.WrapHTTP(h).ServeHTTP(rec, httptest.NewRequest("GET", "/v1/proxy/a/b", nil))
		var ids [][]byte
		for _, v := range rec.Result().Header.Values(Header) {
			ids = append(ids, []byte(v))
		}
		checkOneID(t, "http3 "+name, a, ids)
	}
}

func checkOneID(t *testing.T, what string, a *Log, ids [][]byte) {
	t.Helper()
	if len(ids) != 1 || !bytes.HasPrefix(ids[0], []byte(a.ids.prefix)) {
		t.Errorf("%s: X-Request-Id %q, want exactly the node's", what, ids)
	}
}
