package fastapi

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/attestd/attestd/internal/testenv/logbuf"
	"github.com/valyala/fasthttp"

	"github.com/attestd/attestd/internal/api"
	"github.com/attestd/attestd/internal/registry"
)

// panickingAccounts is an account store whose every lookup panics: the
// fault injected to stand for any bug a request could reach in the core.
type panickingAccounts struct{}

func (panickingAccounts) Account(string) (*registry.Account, bool, error) {
	var m map[string]int
	m["boom"]++ // assignment to entry in nil map
	return nil, false, nil
}

// ask writes one request on c and reads its answer.
func ask(t *testing.T, br *bufio.Reader, c io.Writer, method, target string) (*http.Response, []byte) {
	t.Helper()
	if _, err := io.WriteString(c, method+" "+target+" HTTP/1.1\r\nHost: attestd.test\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(br, &http.Request{Method: method})
	if err != nil {
		t.Fatalf("%s %s: %v", method, target, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, b
}

// TestHandlerPanicCostsOneRequest: fasthttp does not recover a handler's
// panic, so one request that reached a bug ended the node. Now the request
// is answered 500 internal (the PROTOCOL.md body, nothing of the panic in
// it), its connection closes after the answer, the panic is logged once
// with its stack, and the server goes on serving: on the same listener, a
// new connection is answered. Panics in the core (an account lookup) and
// in Extra (the proxy's slot) alike.
func TestHandlerPanicCostsOneRequest(t *testing.T) {
	logs := &logbuf.Buffer{}
	extra := func(ctx *fasthttp.RequestCtx) bool {
		if string(ctx.Path()) == "/v1/proxy/boom/x" {
			var p *struct{ n int }
			p.n++ // nil pointer dereference
		}
		return false
	}
	ts := startServer(t, Config{
		Handler: api.New(api.Config{Accounts: panickingAccounts{}}),
		Extra:   extra,
		Log:     slog.New(slog.NewTextHandler(logs, nil)),
	}, "")
	for i, target := range []string{"/v1/accounts/acme/jwks.json", "/v1/proxy/boom/x"} {
		c := ts.dial(t)
		_ = c.SetDeadline(time.Now().Add(10 * time.Second))
		br := bufio.NewReader(c)
		resp, body := ask(t, br, c, "GET", target)
		var e struct{ Error, Message string }
		if resp.StatusCode != 500 || json.Unmarshal(body, &e) != nil || e.Error != "internal" {
			t.Fatalf("GET %s: %d %s, want 500 internal", target, resp.StatusCode, body)
		}
		if bytes.Contains(body, []byte("nil")) || bytes.Contains(body, []byte("goroutine")) {
			t.Errorf("the panic reached the answer: %s", body)
		}
		if !resp.Close {
			t.Errorf("GET %s: the connection is kept open after a panic", target)
		}
		if n, err := br.Read(make([]byte, 1)); n != 0 || err == nil {
			t.Errorf("GET %s: connection still open after the answer (%d, %v)", target, n, err)
		}
		// The server still serves, on a new connection.
		c2 := ts.dial(t)
		_ = c2.SetDeadline(time.Now().Add(10 * time.Second))
		if resp, body := ask(t, bufio.NewReader(c2), c2, "GET", "/v1/nothing"); resp.StatusCode != 404 {
			t.Fatalf("after the panic: %d %s", resp.StatusCode, body)
		}
		lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
		if len(lines) != i+1 {
			t.Fatalf("%d log lines after %d panics:\n%s", len(lines), i+1, logs.String())
		}
		for _, want := range []string{`msg="request panicked"`, "goroutine", "recover_attack_test.go"} {
			if !strings.Contains(lines[i], want) {
				t.Errorf("panic line lacks %q: %s", want, lines[i])
			}
		}
	}
}
