package fastapi

import (
	"bufio"
	"io"
	"log/slog"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/attestd/attestd/internal/testenv/logbuf"
	"github.com/valyala/fasthttp"

	"github.com/attestd/attestd/internal/api"
)

// TestPanicIsCountedOnce: each recovered panic calls Config.Panicked once
// (the daemon's attestd_panics_total); requests that do not panic never.
func TestPanicIsCountedOnce(t *testing.T) {
	var n atomic.Int64
	ts := startServer(t, Config{
		Handler:  api.New(api.Config{Accounts: panickingAccounts{}}),
		Panicked: func() { n.Add(1) },
	}, "")
	for _, target := range []string{"/v1/nothing", "/v1/accounts/acme/jwks.json", "/v1/nothing", "/v1/accounts/acme/jwks.json"} {
		c := ts.dial(t)
		_ = c.SetDeadline(time.Now().Add(10 * time.Second))
		ask(t, bufio.NewReader(c), c, "GET", target)
	}
	if got := n.Load(); got != 2 {
		t.Fatalf("Panicked called %d times for 2 panics", got)
	}
}

// TestAbortHandlerClosesWithoutAnswer: a handler that panics with
// http.ErrAbortHandler (the proxy, when an upstream's answer breaks off)
// aborts on purpose: the connection closes without an answer, and it is
// neither logged as a crash nor counted.
func TestAbortHandlerClosesWithoutAnswer(t *testing.T) {
	logs := &logbuf.Buffer{}
	var n atomic.Int64
	ts := startServer(t, Config{
		Extra: func(ctx *fasthttp.RequestCtx) bool {
			ctx.SetStatusCode(200)
			ctx.SetBodyString("partial")
			panic(http.ErrAbortHandler)
		},
		Log:      slog.New(slog.NewTextHandler(logs, nil)),
		Panicked: func() { n.Add(1) },
	}, "")
	c := ts.dial(t)
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(c, "GET /v1/proxy/a/b HTTP/1.1\r\nHost: attestd.test\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(c)
	if err != nil {
		t.Fatalf("reading to the close: %v", err)
	}
	if len(got) != 0 {
		t.Errorf("an aborted request was answered: %q", got)
	}
	if logs.String() != "" || n.Load() != 0 {
		t.Errorf("an abort was logged or counted as a crash (%d): %s", n.Load(), logs.String())
	}
}
