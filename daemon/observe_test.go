package daemon

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/valyala/fasthttp"

	"github.com/attestd/attestd/internal/accesslog"
	"github.com/attestd/attestd/internal/apierr"
	"github.com/attestd/attestd/internal/attest"
)

var _ attest.RequestObserver = (*verdictLog)(nil)

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

// taggedContexts are the contexts the access log hands an HTTP/1.1 and an
// HTTP/3 handler, each with its request id.
func taggedContexts() (h1 *fasthttp.RequestCtx, h3 context.Context) {
	access := accesslog.New(accesslog.Config{})
	h1 = &fasthttp.RequestCtx{}
	access.WrapHandler(func(*fasthttp.RequestCtx) {})(h1)
	access.WrapHTTP(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) { h3 = r.Context() })).
		ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("POST", "/v1/attest", nil))
	return h1, h3
}

// TestVerdictLogRequestIDs: every line about an attest carries the request
// id that the transport put in its context: a fasthttp user value
// (HTTP/1.1) or a context value (HTTP/3), through the daemon's logger.
func TestVerdictLogRequestIDs(t *testing.T) {
	var buf bytes.Buffer
	log, _ := newLogger(Config{LogFormat: "json", LogLevel: "info"}, &buf)
	v := newVerdictLog(&countObserver{}, log, 1)

	h1, h3 := taggedContexts()
	rid1, rid3 := accesslog.IDFrom(h1), accesslog.IDFrom(h3)

	v.AttestVerdict(h1, attest.Outcome{Reasons: []string{"rooted", "hooked"}})
	v.AttestVerdict(h1, attest.Outcome{Passed: true})
	v.AttestRefused(h3, apierr.Wrap(apierr.ErrSignatureInvalid, errors.New("devicekey: invalid signature")))
	v.AttestRefused(h1, apierr.ErrRateLimited)
	v.AttestRefused(h3, errors.New("attest: account missing"))

	want := []struct{ level, msg, id, key, val string }{
		{"INFO", "verdict failed", rid1, "reasons", "rooted,hooked"},
		{"INFO", "attest refused", rid3, "code", "signature_invalid"},
		{"INFO", "attest refused", rid1, "code", "rate_limited"},
		// and nothing for the internal failure: the router logs it, once
	}
	got := logLines(t, &buf)
	if len(got) != len(want) {
		t.Fatalf("%d lines, want %d:\n%s", len(got), len(want), buf.String())
	}
	for i, w := range want {
		g := got[i]
		if g["level"] != w.level || g["msg"] != w.msg || g["request_id"] != w.id || g[w.key] != w.val {
			t.Errorf("line %d = %v, want %+v", i, g, w)
		}
	}
	if r, _ := got[1]["reason"].(string); !strings.Contains(r, "devicekey: invalid signature") {
		t.Errorf("refusal reason %q lacks the cause", r)
	}
}

// TestVerdictLogDebugLogsTheUnsampled: at debug level, the failures that
// the 1-in-N sample leaves out are logged too (at debug), so that any
// request id can be found; at info they are not.
func TestVerdictLogDebugLogsTheUnsampled(t *testing.T) {
	for _, level := range []string{"info", "debug"} {
		var buf bytes.Buffer
		log, _ := newLogger(Config{LogFormat: "json", LogLevel: level}, &buf)
		v := newVerdictLog(&countObserver{}, log, 3)
		_, ctx := taggedContexts()
		rid := accesslog.IDFrom(ctx)
		for i := 0; i < 4; i++ {
			v.AttestVerdict(ctx, attest.Outcome{Reasons: []string{"rooted"}})
			v.AttestRefused(ctx, apierr.ErrNonceReplayed)
		}
		lines := logLines(t, &buf)
		levels := map[string]int{}
		for _, l := range lines {
			levels[l["level"].(string)]++
			if l["request_id"] != rid {
				t.Errorf("%s: line without the request id: %v", level, l)
			}
		}
		wantDebug := 0
		if level == "debug" {
			wantDebug = 4 // failures 2, 3 of each kind
		}
		if levels["INFO"] != 4 || levels["DEBUG"] != wantDebug { // failures 1 and 4 of each kind
			t.Errorf("%s: levels %v, want 4 INFO and %d DEBUG", level, levels, wantDebug)
		}
	}
}

// TestVerdictLogDebugTokenUses: every attest that brought a stored debug
// token is logged at info, whatever the sampling, with the token's name,
// the app, the device and the request id; one that names no stored token
// (anyone can send those) is sampled like a failed verdict.
func TestVerdictLogDebugTokenUses(t *testing.T) {
	var buf bytes.Buffer
	log, _ := newLogger(Config{LogFormat: "json", LogLevel: "info"}, &buf)
	v := newVerdictLog(&countObserver{}, log, 1000)
	ctx, _ := taggedContexts()
	rid := accesslog.IDFrom(ctx)
	uses := []attest.Outcome{
		{Passed: true, App: "com.example.shop", Device: "did-1", Debug: attest.DebugAccepted, DebugName: "ci-runner"},
		{Passed: true, App: "com.example.shop", Device: "did-1", Debug: attest.DebugAccepted, DebugName: "ci-runner"},
		{Reasons: []string{"debug_token_invalid"}, App: "com.example.shop", Device: "did-2", Debug: attest.DebugExpired, DebugName: "old"},
		{Reasons: []string{"debug_token_invalid"}, App: "com.example.shop", Device: "did-3", Debug: attest.DebugOtherApp, DebugName: "theirs"},
		{Reasons: []string{"debug_token_invalid"}, App: "com.example.shop", Device: "did-4", Debug: attest.DebugUnknown},
		{Reasons: []string{"debug_token_invalid"}, App: "com.example.shop", Device: "did-5", Debug: attest.DebugUnknown},
	}
	for _, o := range uses {
		v.AttestVerdict(ctx, o)
	}
	var got []map[string]any
	for _, l := range logLines(t, &buf) {
		if l["msg"] == "debug token" {
			got = append(got, l)
		}
	}
	want := []struct{ outcome, name, did string }{
		{"accepted", "ci-runner", "did-1"}, {"accepted", "ci-runner", "did-1"}, {"expired", "old", "did-2"},
		{"other_app", "theirs", "did-3"}, {"unknown", "", "did-4"}, // the second unknown is not sampled
	}
	if len(got) != len(want) {
		t.Fatalf("%d debug token lines, want %d:\n%s", len(got), len(want), buf.String())
	}
	for i, w := range want {
		g := got[i]
		if g["level"] != "INFO" || g["outcome"] != w.outcome || g["name"] != w.name || g["did"] != w.did ||
			g["app"] != "com.example.shop" || g["request_id"] != rid {
			t.Errorf("line %d = %v, want %+v", i, g, w)
		}
	}
}
