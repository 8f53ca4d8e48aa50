package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/attestd/attestd/client"
	"github.com/attestd/attestd/internal/testenv"
)

// The crafted-targets table: request targets no client library would
// send, written byte for byte on raw TCP (nothing normalises them on the
// way) to the public and the admin listener, and sent as the :path of
// quic-go's HTTP/3 client to the public one. PROTOCOL.md Conventions
// (1.1): no request ends a node, none is answered 500 for what it
// contains, and a target that names no endpoint exactly is not_found.

// outcome is what a listener must answer.
type outcome struct {
	status int
	// code is the PROTOCOL.md error code of the body; "-" for an answer of
	// the transport itself, before any handler, that carries none.
	code string
}

var (
	notFound  = outcome{404, "not_found"}
	notAllow  = outcome{405, "method_not_allowed"}
	badReq    = outcome{400, "bad_request"}
	ok200     = outcome{200, ""}
	refused   = outcome{-1, ""} // no answer: quic-go resets the stream
	notSent   = outcome{0, ""}  // quic-go's client cannot send this :path or method
	plain400  = outcome{400, "-"}
	tooLarge3 = outcome{431, "-"} // quic-go, past its header limit (16 KiB)
)

type craftedCase struct {
	name, method, target string
	http1, http3         outcome
}

func craftedPublic() []craftedCase {
	k4 := strings.Repeat("a", 4096)
	k64 := strings.Repeat("b", 64<<10)
	return []craftedCase{
		{"empty-target", "GET", "", badReq, notSent},
		{"asterisk-get", "GET", "*", badReq, refused},
		{"asterisk-options", "OPTIONS", "*", notFound, notFound},
		{"authority-form", "CONNECT", "127.0.0.1:443", notFound, notSent},
		{"jwks-overlap", "GET", "/v1/accounts/jwks.json", notFound, notFound},
		{"jwks-overlap-dotdot", "GET", "/v1/accounts/x/../jwks.json", notFound, notFound},
		{"jwks-empty-account", "GET", "/v1/accounts//jwks.json", notFound, notFound},
		{"jwks-dot-account", "GET", "/v1/accounts/./jwks.json", notFound, notFound},
		{"jwks-encoded-dotdot", "GET", "/v1/accounts/%2e%2e/jwks.json", notFound, notFound},
		{"jwks-encoded-slash", "GET", "/v1/accounts/acme%2Fx/jwks.json", notFound, notFound},
		{"jwks-account-dotdot-back", "GET", "/v1/accounts/acme/../acme/jwks.json", notFound, notFound},
		{"jwks-encoded-nul", "GET", "/v1/accounts/%00/jwks.json", notFound, notFound},
		{"jwks-raw-nul", "GET", "/v1/accounts/ac\x00me/jwks.json", badReq, refused},
		{"jwks-4k-account", "GET", "/v1/accounts/" + k4 + "/jwks.json", badReq, notFound},
		{"jwks-64k-account", "GET", "/v1/accounts/" + k64 + "/jwks.json", badReq, tooLarge3},
		{"challenge-doubled-slash", "POST", "//v1/challenge", notFound, notFound},
		{"challenge-empty-segment", "POST", "/v1//challenge", notFound, notFound},
		{"challenge-trailing-slash", "POST", "/v1/challenge/", notFound, notFound},
		{"challenge-dot", "POST", "/v1/./challenge", notFound, notFound},
		{"challenge-dotdot", "POST", "/v1/x/../challenge", notFound, notFound},
		{"challenge-encoded-dotdot", "POST", "/v1/x/%2e%2e/challenge", notFound, notFound},
		{"challenge-encoded-dotdot-upper", "POST", "/v1/x/%2E%2E/challenge", notFound, notFound},
		{"challenge-encoded-slash", "POST", "/v1%2Fchallenge", notFound, notFound},
		{"challenge-encoded-letter", "POST", "/v1/%63hallenge", notFound, notFound},
		{"challenge-encoded-nul", "POST", "/v1/challenge%00", notFound, notFound},
		{"challenge-bad-escape", "POST", "/v1/challenge%zz", notFound, refused},
		{"challenge-backslash", "POST", "/v1\\challenge", notFound, notFound},
		{"challenge-absolute-form", "POST", "http://attestd.test/v1/challenge", ok200, notSent},
		{"attest-absolute-form-dotdot", "POST", "http://attestd.test/v1/x/../attest", notFound, notSent},
		{"challenge-4k-path", "POST", "/v1/challenge/" + k4, badReq, notFound},
		{"challenge-64k-path", "POST", "/v1/" + k64, badReq, tooLarge3},
		{"method-unknown", "BREW", "/v1/challenge", notAllow, notAllow},
		{"method-lowercase", "post", "/v1/challenge", notAllow, notAllow},
		{"method-delete-jwks", "DELETE", "/v1/accounts/acme-es/jwks.json", notAllow, notAllow},
		{"method-not-a-token", "G@T", "/v1/challenge", badReq, notSent},
		{"method-trace-unknown-path", "TRACE", "/v1/../../etc/passwd", notFound, notFound},
	}
}

func craftedAdmin() []craftedCase {
	return []craftedCase{
		{"healthz", "GET", "/healthz", ok200, notSent},
		{"empty-target", "GET", "", plain400, notSent},
		{"asterisk-get", "GET", "*", notFound, notSent},
		{"asterisk-options", "OPTIONS", "*", notFound, notSent},
		{"authority-form", "CONNECT", "127.0.0.1:443", notFound, notSent},
		{"doubled-slash", "GET", "//healthz", notFound, notSent},
		{"dot", "GET", "/./healthz", notFound, notSent},
		{"dotdot", "GET", "/x/../metrics", notFound, notSent},
		{"trailing-slash", "GET", "/healthz/", notFound, notSent},
		{"encoded-letter", "GET", "/%68ealthz", notFound, notSent},
		{"encoded-dotdot", "GET", "/x/%2e%2e/readyz", notFound, notSent},
		{"encoded-nul", "GET", "/healthz%00", notFound, notSent},
		{"raw-nul", "GET", "/healthz\x00", plain400, notSent},
		{"pprof-off", "GET", "/debug/pprof/", notFound, notSent},
		{"absolute-form", "GET", "http://admin.test/healthz", ok200, notSent},
		{"4k-path", "GET", "/" + strings.Repeat("a", 4096), notFound, notSent},
		{"64k-path", "GET", "/" + strings.Repeat("a", 64<<10), notFound, notSent},
		{"method-post", "POST", "/metrics", notAllow, notSent},
		{"method-unknown", "BREW", "/healthz", notAllow, notSent},
		{"method-not-a-token", "G@T", "/healthz", plain400, notSent},
	}
}

// TestCraftedTargetsNeverCrashANode sends every crafted target to a real
// node, and after them a real challenge and /healthz: the node still
// serves. /v1/accounts/jwks.json alone ended a node before.
func TestCraftedTargetsNeverCrashANode(t *testing.T) {
	f := testenv.NewFixture(t)
	tr, o := http3(t)
	node := testenv.StartNode(t, testenv.NewStore(t, f), o)
	public, admin := strings.TrimPrefix(node.Base, "http://"), strings.TrimPrefix(node.Admin, "http://")
	t.Run("http1", func(t *testing.T) {
		for _, tc := range craftedPublic() {
			got := rawAsk(t, public, tc.method, tc.target)
			checkOutcome(t, "public "+tc.name, got, tc.http1)
			if got.status > 0 && got.header.Get("X-Request-Id") == "" {
				t.Errorf("public %s: answer %d without X-Request-Id", tc.name, got.status)
			}
		}
	})
	t.Run("admin", func(t *testing.T) {
		for _, tc := range craftedAdmin() {
			checkOutcome(t, "admin "+tc.name, rawAsk(t, admin, tc.method, tc.target), tc.http1)
		}
	})
	t.Run("http3", func(t *testing.T) {
		base := tr.Base(node)
		for _, tc := range craftedPublic() {
			if tc.http3 == notSent {
				continue
			}
			got := h3Ask(t, tr.HTTP, base, tc.method, tc.target)
			checkOutcome(t, "http3 "+tc.name, got, tc.http3)
			if got.status > 0 && got.status != 431 && got.header.Get("X-Request-Id") == "" {
				t.Errorf("http3 %s: answer %d without X-Request-Id", tc.name, got.status)
			}
		}
	})
	// The node is alive and serves real requests on every listener.
	if st, body := get(t, node.Admin+"/healthz"); st != 200 {
		t.Fatalf("healthz after the crafted targets: %d %s", st, body)
	}
	for _, e := range []*env{{t: t, f: f, node: node, tr: http1()}, {t: t, f: f, node: node, tr: tr}} {
		c := e.client(testenv.App)
		if a := e.attest(c, e.body(c, e.nonce(c), client.Evidence{})); a.status != 200 {
			t.Fatalf("%s: a real attest after the crafted targets: %d %s", e.tr.Name, a.status, a.body)
		}
	}
}

// crafted is an answer to a crafted request.
type crafted struct {
	status int // -1: no answer
	header http.Header
	body   []byte
	err    error
}

// rawAsk writes method and target verbatim in a request line on a new
// TCP connection and reads the answer.
func rawAsk(t *testing.T, addr, method, target string) crafted {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	req := method + " " + target + " HTTP/1.1\r\nHost: attestd.test\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
	if _, err := io.WriteString(c, req); err != nil {
		return crafted{status: -1, err: err}
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), &http.Request{Method: method})
	if err != nil {
		return crafted{status: -1, err: err}
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return crafted{status: resp.StatusCode, header: resp.Header, body: b}
}

// h3Ask sends target as the :path of an HTTP/3 request with quic-go's
// client (URL.Opaque carries it unchanged).
func h3Ask(t *testing.T, hc *http.Client, base, method, target string) crafted {
	t.Helper()
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	u.Opaque = target
	if strings.HasPrefix(target, "//") {
		u.Opaque = "//" + u.Host + target // RequestURI makes it https://host//…; the client cuts the prefix
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.URL, req.Host = u, u.Host
	resp, err := hc.Do(req)
	if err != nil {
		return crafted{status: -1, err: err}
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return crafted{status: resp.StatusCode, header: resp.Header, body: b}
}

func checkOutcome(t *testing.T, what string, got crafted, want outcome) {
	t.Helper()
	if got.status == 500 {
		t.Errorf("%s: 500 %s", what, got.body)
		return
	}
	if got.status != want.status {
		t.Errorf("%s: status %d (%v) %.200s, want %d", what, got.status, got.err, got.body, want.status)
		return
	}
	if got.status <= 0 || want.code == "-" {
		return
	}
	var e struct{ Error, Message string }
	if want.code == "" {
		return
	}
	if err := json.Unmarshal(got.body, &e); err != nil || e.Error != want.code || e.Message == "" {
		t.Errorf("%s: %d body %.200s, want code %q", what, got.status, got.body, want.code)
	}
	if ct := got.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("%s: Content-Type %q", what, ct)
	}
}
