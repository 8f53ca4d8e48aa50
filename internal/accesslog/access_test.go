package accesslog

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/attestd/attestd/internal/apierr"
)

// newTestAccess is a Log logging JSON at debug into buf, counting
// panics per transport in n.
func newTestAccess(buf *bytes.Buffer, n map[string]*atomic.Int64) *Log {
	return New(Config{Log: jsonLogger(buf), Panicked: func(tr string) { n[tr].Add(1) }})
}

func panicCounters() map[string]*atomic.Int64 {
	return map[string]*atomic.Int64{TransportHTTP1: {}, TransportHTTP3: {}}
}

// TestErrorHandlerAnswersCarryOurRequestID: the answers of requests
// fasthttp could not read (its ErrorHandler: malformed, too large) carried
// no X-Request-Id; the wrapped ErrorHandler's do, the node's.
func TestErrorHandlerAnswersCarryOurRequestID(t *testing.T) {
	var buf bytes.Buffer
	a := newTestAccess(&buf, panicCounters())
	var ctx fasthttp.RequestCtx
	a.WrapErrorHandler(func(ctx *fasthttp.RequestCtx, _ error) { ctx.SetStatusCode(400) })(&ctx, errors.New("malformed"))
	checkOneID(t, "http1 error handler", a, ctx.Response.Header.PeekAll(Header))
}

// TestOuterWrapperRecoversPanic: a panic that reaches the outer wrapper
// (past any adapter) is answered 500 internal with the node's id, closes
// the HTTP/1.1 connection, is logged once with its stack and request id,
// and counted by transport.
func TestOuterWrapperRecoversPanic(t *testing.T) {
	var buf bytes.Buffer
	n := panicCounters()
	a := newTestAccess(&buf, n)
	boom := func() { var m map[string]int; m["x"]++ }

	var ctx fasthttp.RequestCtx
	ctx.Request.SetRequestURI("/v1/challenge")
	a.WrapHandler(func(ctx *fasthttp.RequestCtx) { ctx.SetBodyString("half"); boom() })(&ctx)
	if ctx.Response.StatusCode() != 500 || !ctx.Response.ConnectionClose() || !strings.Contains(string(ctx.Response.Body()), `"internal"`) {
		t.Errorf("http1: %d close=%v %s", ctx.Response.StatusCode(), ctx.Response.ConnectionClose(), ctx.Response.Body())
	}
	checkOneID(t, "http1 panic", a, ctx.Response.Header.PeekAll(Header))

	rec := httptest.NewRecorder()
	a.WrapHTTP(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("X-Upstream", "secret-ish")
		boom()
	})).ServeHTTP(rec, httptest.NewRequest("GET", "/v1/challenge", nil))
	if rec.Code != 500 || apiErrorCode(rec.Body.Bytes()) != "internal" || rec.Header().Get("X-Upstream") != "" {
		t.Errorf("http3: %d %v %s", rec.Code, rec.Header(), rec.Body)
	}
	checkOneID(t, "http3 panic", a, [][]byte{[]byte(rec.Header().Get(Header))})

	if n[TransportHTTP1].Load() != 1 || n[TransportHTTP3].Load() != 1 {
		t.Errorf("counted %d http1, %d http3 panics; want 1 each", n[TransportHTTP1].Load(), n[TransportHTTP3].Load())
	}
	var panics []map[string]any
	for _, l := range logLines(t, &buf) {
		if l["msg"] == "request panicked" {
			panics = append(panics, l)
		}
	}
	if len(panics) != 2 {
		t.Fatalf("%d panic lines, want 2:\n%s", len(panics), buf.String())
	}
	for _, l := range panics {
		st, _ := l["stack"].(string)
		id, _ := l["request_id"].(string)
		if !strings.Contains(st, "access_test.go") || !strings.HasPrefix(id, a.ids.prefix) || !strings.Contains(l["panic"].(string), "nil map") {
			t.Errorf("panic line %v", l)
		}
	}
}

// apiErrorCode is the error member of a PROTOCOL.md error body.
func apiErrorCode(b []byte) apierr.Code {
	var e struct {
		Error   apierr.Code
		Message string
	}
	if json.Unmarshal(b, &e) != nil || e.Message == "" {
		return ""
	}
	return e.Error
}

// TestHTTP3PanicAfterWritingCutsTheAnswer: once an answer has begun, a
// panic cannot turn it into a 500; the answer is cut (http.ErrAbortHandler
// goes on to quic-go, which resets the stream) so that it never looks
// complete. The panic is still logged and counted.
func TestHTTP3PanicAfterWritingCutsTheAnswer(t *testing.T) {
	var buf bytes.Buffer
	n := panicCounters()
	a := newTestAccess(&buf, n)
	got := func() (v any) {
		defer func() { v = recover() }()
		a.WrapHTTP(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			_, _ = w.Write([]byte("partial"))
			panic("late")
		})).ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
		return nil
	}()
	if got != http.ErrAbortHandler || n[TransportHTTP3].Load() != 1 || !strings.Contains(buf.String(), "request panicked") {
		t.Errorf("panic after writing: re-panicked %v, counted %d, logs %s", got, n[TransportHTTP3].Load(), buf.String())
	}
}

// TestAbortHandlerKeepsItsMeaning: http.ErrAbortHandler is a deliberate
// abort (the proxy cuts a broken upstream answer with it): over HTTP/3 it
// goes on to quic-go unchanged, over HTTP/1.1 the connection closes
// unanswered; neither is logged as a crash or counted.
func TestAbortHandlerKeepsItsMeaning(t *testing.T) {
	var buf bytes.Buffer
	n := panicCounters()
	a := newTestAccess(&buf, n)
	got := func() (v any) {
		defer func() { v = recover() }()
		a.WrapHTTP(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic(http.ErrAbortHandler) })).
			ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
		return nil
	}()
	if got != http.ErrAbortHandler {
		t.Errorf("http3: %v reached quic-go, want http.ErrAbortHandler", got)
	}
	var ctx fasthttp.RequestCtx
	a.WrapHandler(func(*fasthttp.RequestCtx) { panic(http.ErrAbortHandler) })(&ctx)
	if !ctx.Hijacked() {
		t.Error("http1: an abort did not take the connection")
	}
	if n[TransportHTTP1].Load()+n[TransportHTTP3].Load() != 0 || strings.Contains(buf.String(), "panicked") {
		t.Errorf("an abort was counted or logged as a crash: %s", buf.String())
	}
}

// TestStatusWriterReachesTheWriterBeneath: through the HTTP/3 wrapper's
// statusWriter, http.NewResponseController flushes (the proxy streams an
// answer of unknown length) and sets deadlines on the server's own writer.
// A real net/http server stands for quic-go's (both implement FlushError
// and SetWriteDeadline on their writer).
func TestStatusWriterReachesTheWriterBeneath(t *testing.T) {
	var buf bytes.Buffer
	a := newTestAccess(&buf, panicCounters())
	release := make(chan struct{})
	errs := make(chan error, 2)
	srv := httptest.NewServer(a.WrapHTTP(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		rc := http.NewResponseController(w)
		errs <- rc.SetWriteDeadline(time.Now().Add(10 * time.Second))
		_, _ = w.Write([]byte("first\n"))
		errs <- rc.Flush()
		<-release // the client must have the first line before this
		_, _ = w.Write([]byte("second\n"))
	})))
	defer srv.Close()
	resp, err := srv.Client().Get(srv.URL + "/v1/proxy/a/b")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	br := bufio.NewReader(resp.Body)
	line, err := br.ReadString('\n')
	close(release)
	if err != nil || line != "first\n" {
		t.Fatalf("first line %q %v: the flush did not reach the client", line, err)
	}
	rest, _ := io.ReadAll(br)
	if string(rest) != "second\n" || !strings.HasPrefix(resp.Header.Get(Header), a.ids.prefix) {
		t.Errorf("rest %q, id %q", rest, resp.Header.Get(Header))
	}
	for range 2 {
		if err := <-errs; err != nil {
			t.Errorf("through statusWriter: %v", err)
		}
	}
}

// jsonLogger logs JSON at debug level into w, with the request ids.
func jsonLogger(w io.Writer) *slog.Logger {
	return slog.New(LogHandler(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug})))
}

// logLines decodes the JSON lines of buf.
func logLines(t *testing.T, buf *bytes.Buffer) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		if l == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("log line %q: %v", l, err)
		}
		out = append(out, m)
	}
	return out
}
