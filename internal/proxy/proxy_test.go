package proxy

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/attestd/attestd/crypto/token"
	"github.com/attestd/attestd/internal/apierr"
	"github.com/attestd/attestd/internal/proxytest"
)

func bindingOf(v string) string {
	s := sha256.Sum256([]byte(v))
	return base64.RawURLEncoding.EncodeToString(s[:])
}

// TestProxy runs every case over both adapters.
func TestProxy(t *testing.T) {
	for _, tr := range proxytest.Listeners {
		t.Run(tr.Name, func(t *testing.T) {
			w := newWorld(t)
			w.cfg.MaxBodyBytes = 1 << 20
			p, err := New(w.cfg)
			if err != nil {
				t.Fatal(err)
			}
			base := tr.Start(t, p)
			good := w.token(token.Claims{Subject: "app"})
			for _, tc := range proxyCases(w, good) {
				t.Run(tc.name, func(t *testing.T) {
					w.up.Take()
					w.up.Answer(tc.upstream)
					defer w.up.Answer(nil)
					var body io.Reader
					if tc.body != nil {
						body = tc.body()
					}
					a := send(t, tc.method, base+tc.path, tc.hdr, body)
					tc.check(t, a, w.up.Take())
				})
			}
		})
	}
}

type proxyCase struct {
	name     string
	method   string
	path     string
	hdr      map[string]string
	body     func() io.Reader
	upstream http.HandlerFunc
	check    func(t *testing.T, a answer, got []proxytest.Hit)
}

func refused(status int, code string) func(t *testing.T, a answer, got []proxytest.Hit) {
	return func(t *testing.T, a answer, got []proxytest.Hit) {
		t.Helper()
		if a.status != status || a.code(t) != code {
			t.Fatalf("got %d %s, want %d %s", a.status, a.body, status, code)
		}
		if len(got) != 0 {
			t.Fatalf("a refused request reached the upstream: %s %s", got[0].Method, got[0].URI)
		}
	}
}

func one(t *testing.T, a answer, got []proxytest.Hit) proxytest.Hit {
	t.Helper()
	if a.status != 200 || string(a.body) != "ok" {
		t.Fatalf("answer %d %q", a.status, a.body)
	}
	if len(got) != 1 {
		t.Fatalf("upstream got %d requests", len(got))
	}
	if _, ok := got[0].Header["Attest-Token"]; ok {
		t.Fatal("Attest-Token reached the upstream")
	}
	return got[0]
}

func proxyCases(w *world, good string) []proxyCase {
	tok := map[string]string{"Attest-Token": good}
	with := func(extra map[string]string) map[string]string {
		m := map[string]string{"Attest-Token": good}
		for k, v := range extra {
			m[k] = v
		}
		return m
	}
	return []proxyCase{
		{name: "pass/header-injected", method: "GET", path: "/v1/proxy/hdr/a/b?x=1&y=%20",
			hdr: with(map[string]string{"X-Api-Key": "client-value", "X-Custom": "kept", "Authorization": "Bearer u", "Host": "edge.example", "User-Agent": "shop/4.2.1"}),
			check: func(t *testing.T, a answer, got []proxytest.Hit) {
				r := one(t, a, got)
				if r.URI != "/rec/a/b?x=1&y=%20" {
					t.Errorf("upstream URI %q", r.URI)
				}
				if v := r.Header.Values("X-Api-Key"); len(v) != 1 || v[0] != testSecret {
					t.Errorf("X-Api-Key %q", v)
				}
				if r.Header.Get("X-Custom") != "kept" || r.Header.Get("Authorization") != "Bearer u" {
					t.Errorf("headers changed: %v", r.Header)
				}
				if r.Host != strings.TrimPrefix(w.up.URL, "http://") {
					t.Errorf("Host %q", r.Host)
				}
				if r.Header.Get("User-Agent") != "shop/4.2.1" {
					t.Errorf("User-Agent %q", r.Header.Get("User-Agent"))
				}
				if a.header.Get("X-Upstream") != "yes" {
					t.Error("upstream header not passed back")
				}
				if d := a.header.Values("Date"); len(d) != 1 {
					t.Errorf("Date %q", d)
				}
			}},
		{name: "pass/query-injected-replacing-client", method: "GET", path: "/v1/proxy/qry/p?key=evil&a=1&%6bey=enc", hdr: tok,
			check: func(t *testing.T, a answer, got []proxytest.Hit) {
				if r := one(t, a, got); r.URI != "/rec/p?v=1&a=1&key="+testSecret {
					t.Errorf("upstream URI %q", r.URI)
				}
			}},
		{name: "pass/hop-by-hop-removed", method: "GET", path: "/v1/proxy/hdr/", hdr: with(map[string]string{
			"Connection": "X-Hop, keep-alive", "X-Hop": "1", "Keep-Alive": "timeout=5", "Proxy-Authorization": "Basic x", "Te": "trailers", "Upgrade": "websocket"}),
			check: func(t *testing.T, a answer, got []proxytest.Hit) {
				r := one(t, a, got)
				for _, h := range []string{"X-Hop", "Keep-Alive", "Proxy-Authorization", "Te", "Upgrade"} {
					if _, ok := r.Header[h]; ok {
						t.Errorf("hop-by-hop %s forwarded", h)
					}
				}
				if r.URI != "/rec/" {
					t.Errorf("upstream URI %q", r.URI)
				}
			}},
		{name: "pass/body-streamed", method: "POST", path: "/v1/proxy/hdr/up", hdr: with(map[string]string{"Content-Type": "application/octet-stream"}),
			body: func() io.Reader { return bytes.NewReader(bytes.Repeat([]byte("b"), 1<<20)) },
			check: func(t *testing.T, a answer, got []proxytest.Hit) {
				r := one(t, a, got)
				if len(r.Body) != 1<<20 || r.Header.Get("Content-Type") != "application/octet-stream" {
					t.Errorf("body %d bytes, %v", len(r.Body), r.Header)
				}
			}},
		{name: "pass/chunked-body", method: "PUT", path: "/v1/proxy/hdr/up", hdr: tok,
			body: func() io.Reader { return io.MultiReader(strings.NewReader("abc"), strings.NewReader("def")) },
			check: func(t *testing.T, a answer, got []proxytest.Hit) {
				if r := one(t, a, got); string(r.Body) != "abcdef" || r.Method != "PUT" {
					t.Errorf("%s %q", r.Method, r.Body)
				}
			}},
		{name: "pass/upstream-error-passes-through", method: "DELETE", path: "/v1/proxy/any/missing", hdr: tok,
			upstream: func(rw http.ResponseWriter, r *http.Request) {
				rw.Header().Set("Content-Type", "text/plain")
				rw.Header().Set("Connection", "X-Up-Hop")
				rw.Header().Set("X-Up-Hop", "1")
				rw.Header().Add("Set-Cookie", "a=1")
				rw.Header().Add("Set-Cookie", "b=2")
				rw.WriteHeader(503)
				_, _ = rw.Write([]byte("upstream down for " + r.Method))
			},
			check: func(t *testing.T, a answer, _ []proxytest.Hit) {
				if a.status != 503 || string(a.body) != "upstream down for DELETE" || a.header.Get("Content-Type") != "text/plain" {
					t.Fatalf("%d %q %v", a.status, a.body, a.header)
				}
				if a.header.Get("X-Up-Hop") != "" {
					t.Error("answer's hop-by-hop header passed back")
				}
				if c := a.header.Values("Set-Cookie"); len(c) != 2 {
					t.Errorf("Set-Cookie %q", c)
				}
			}},
		{name: "pass/redirect-not-followed", method: "GET", path: "/v1/proxy/any/r", hdr: tok,
			upstream: func(rw http.ResponseWriter, r *http.Request) {
				http.Redirect(rw, r, "https://elsewhere.example/x", http.StatusFound)
			},
			check: func(t *testing.T, a answer, _ []proxytest.Hit) {
				if a.status != 302 || a.header.Get("Location") != "https://elsewhere.example/x" {
					t.Fatalf("%d %v", a.status, a.header)
				}
			}},
		{name: "pass/head", method: "HEAD", path: "/v1/proxy/any/h", hdr: tok,
			upstream: func(rw http.ResponseWriter, r *http.Request) {
				rw.Header().Set("Content-Length", "1234")
				rw.WriteHeader(200)
			},
			check: func(t *testing.T, a answer, _ []proxytest.Hit) {
				if a.status != 200 || len(a.body) != 0 || a.header.Get("Content-Length") != "1234" {
					t.Fatalf("%d %q %v", a.status, a.body, a.header)
				}
			}},
		{name: "pass/no-content", method: "POST", path: "/v1/proxy/any/n", hdr: tok,
			upstream: func(rw http.ResponseWriter, r *http.Request) { rw.WriteHeader(204) },
			check: func(t *testing.T, a answer, _ []proxytest.Hit) {
				if a.status != 204 || len(a.body) != 0 {
					t.Fatalf("%d %q", a.status, a.body)
				}
			}},
		{name: "pass/bound", method: "GET", path: "/v1/proxy/bound/x",
			hdr:   map[string]string{"Attest-Token": w.token(token.Claims{Payload: bindingOf("Bearer alice")}), "Authorization": "Bearer alice"},
			check: func(t *testing.T, a answer, got []proxytest.Hit) { one(t, a, got) }},
		{name: "fail/bound-missing-authorization", method: "GET", path: "/v1/proxy/bound/x",
			hdr:   map[string]string{"Attest-Token": w.token(token.Claims{Payload: bindingOf("Bearer alice")})},
			check: refused(401, "token_invalid")},
		{name: "fail/bound-other-authorization", method: "GET", path: "/v1/proxy/bound/x",
			hdr:   map[string]string{"Attest-Token": w.token(token.Claims{Payload: bindingOf("Bearer alice")}), "Authorization": "Bearer mallory"},
			check: refused(401, "token_invalid")},
		{name: "fail/binding-required-token-unbound", method: "GET", path: "/v1/proxy/bound/x",
			hdr: with(map[string]string{"Authorization": "Bearer alice"}), check: refused(401, "token_invalid")},
		{name: "fail/bound-token-elsewhere-needs-its-value", method: "GET", path: "/v1/proxy/hdr/x",
			hdr:   map[string]string{"Attest-Token": w.token(token.Claims{Payload: bindingOf("Bearer alice")}), "Authorization": "Bearer bob"},
			check: refused(401, "token_invalid")},
		{name: "fail/no-token", method: "GET", path: "/v1/proxy/hdr/x", check: refused(401, "token_invalid")},
		{name: "fail/garbage-token", method: "POST", path: "/v1/proxy/hdr/x", hdr: map[string]string{"Attest-Token": "a.b.c"},
			body: func() io.Reader { return strings.NewReader("never forwarded") }, check: refused(401, "token_invalid")},
		{name: "fail/expired", method: "GET", path: "/v1/proxy/hdr/x",
			hdr:   map[string]string{"Attest-Token": w.token(token.Claims{IssuedAt: w.now.Unix() - 400, ExpiresAt: w.now.Unix() - 31})},
			check: refused(401, "token_invalid")},
		{name: "fail/other-audience", method: "GET", path: "/v1/proxy/hdr/x",
			hdr: map[string]string{"Attest-Token": w.token(token.Claims{Audience: "other"})}, check: refused(401, "token_invalid")},
		{name: "fail/other-issuer", method: "GET", path: "/v1/proxy/hdr/x",
			hdr: map[string]string{"Attest-Token": w.token(token.Claims{Issuer: "evil"})}, check: refused(401, "token_invalid")},
		{name: "fail/unknown-api", method: "GET", path: "/v1/proxy/nope/x", hdr: tok, check: refused(404, "not_found")},
		{name: "fail/trace", method: "TRACE", path: "/v1/proxy/hdr/x", hdr: tok, check: refused(405, "method_not_allowed")},
		{name: "fail/dot-segments", method: "GET", path: "/v1/proxy/hdr/a/%2e%2e/%2e%2e/admin", hdr: tok, check: refused(400, "bad_request")},
		{name: "fail/body-over-cap", method: "POST", path: "/v1/proxy/hdr/x", hdr: tok,
			body:  func() io.Reader { return bytes.NewReader(make([]byte, 1<<20+1)) },
			check: refused(413, "body_too_large")},
		{name: "fail/chunked-body-over-cap", method: "POST", path: "/v1/proxy/hdr/x", hdr: tok,
			body: func() io.Reader {
				return io.MultiReader(bytes.NewReader(make([]byte, 1<<19)), bytes.NewReader(make([]byte, 1<<19+1)))
			},
			check: func(t *testing.T, a answer, got []proxytest.Hit) {
				// The upstream may have begun reading (the length was not
				// known in advance); it never got a complete request.
				if a.status != 413 || a.code(t) != "body_too_large" {
					t.Fatalf("%d %s", a.status, a.body)
				}
				if len(got) != 0 {
					t.Fatalf("upstream got a complete request of %d bytes", len(got[0].Body))
				}
			}},
		{name: "fail/upstream-down", method: "GET", path: "/v1/proxy/down/x", hdr: tok, check: refused(502, "bad_gateway")},
	}
}

// TestProxyNeverLogsSecrets: a failed upstream with a query secret logs the
// cause without the URL.
func TestProxyNeverLogsSecrets(t *testing.T) {
	for _, tr := range proxytest.Listeners {
		t.Run(tr.Name, func(t *testing.T) {
			w := newWorld(t)
			p, _ := New(w.cfg)
			base := tr.Start(t, p)
			tok := w.token(token.Claims{})
			for _, path := range []string{"/v1/proxy/down/x", "/v1/proxy/qry/x", "/v1/proxy/hdr/x"} {
				send(t, "GET", base+path, map[string]string{"Attest-Token": tok}, nil)
			}
			send(t, "GET", base+"/v1/proxy/hdr/x", map[string]string{"Attest-Token": "x.y.z"}, nil)
			if !strings.Contains(w.logs.String(), "upstream failed") {
				t.Fatalf("no upstream failure logged: %s", w.logs)
			}
			if strings.Contains(w.logs.String(), testSecret) {
				t.Fatalf("secret in logs: %s", w.logs)
			}
		})
	}
}

// TestProxyStreamsAnswer: the first bytes of an answer reach the client
// while the upstream is still writing (no buffering of the whole answer).
func TestProxyStreamsAnswer(t *testing.T) {
	for _, tr := range proxytest.Listeners {
		t.Run(tr.Name, func(t *testing.T) {
			w := newWorld(t)
			p, _ := New(w.cfg)
			base := tr.Start(t, p)
			release := make(chan struct{})
			w.up.Answer(func(rw http.ResponseWriter, r *http.Request) {
				_, _ = rw.Write(bytes.Repeat([]byte("x"), 64<<10))
				rw.(http.Flusher).Flush()
				select {
				case <-release:
				case <-time.After(10 * time.Second):
				}
				_, _ = rw.Write([]byte("end"))
			})
			req, _ := http.NewRequest("GET", base+"/v1/proxy/any/s", nil)
			req.Header.Set("Attest-Token", w.token(token.Claims{}))
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			buf := make([]byte, 64<<10)
			if _, err := io.ReadFull(resp.Body, buf); err != nil {
				t.Fatalf("first chunk did not arrive while the upstream waits: %v", err)
			}
			close(release)
			rest, _ := io.ReadAll(resp.Body)
			if string(rest) != "end" {
				t.Fatalf("rest %q", rest)
			}
		})
	}
}

// TestProxyIdleUpstream: an upstream that stops sending ends the answer
// after BodyIdleTimeout, visibly broken (no final chunk), instead of holding
// the exchange open or ending it as if it were complete.
func TestProxyIdleUpstream(t *testing.T) {
	for _, tr := range proxytest.Listeners {
		t.Run(tr.Name, func(t *testing.T) {
			w := newWorld(t)
			w.cfg.BodyIdleTimeout = 200 * time.Millisecond
			p, _ := New(w.cfg)
			base := tr.Start(t, p)
			stop := make(chan struct{})
			defer close(stop)
			w.up.Answer(func(rw http.ResponseWriter, r *http.Request) {
				_, _ = rw.Write([]byte("partial"))
				rw.(http.Flusher).Flush()
				<-stop
			})
			start := time.Now()
			req, _ := http.NewRequest("GET", base+"/v1/proxy/any/s", nil)
			req.Header.Set("Attest-Token", w.token(token.Claims{}))
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, err := io.ReadAll(resp.Body)
			if err == nil || string(b) != "partial" || time.Since(start) > 5*time.Second {
				t.Fatalf("read %q, %v after %v; want partial and an error", b, err, time.Since(start))
			}
		})
	}
}

type seenObs struct {
	mu  sync.Mutex
	got []string
}

func (o *seenObs) Request(endpoint string, status int, code apierr.Code, _ time.Duration) {
	o.mu.Lock()
	o.got = append(o.got, fmt.Sprintf("%s %d %s", endpoint, status, code))
	o.mu.Unlock()
}

// TestProxyObserver: every request is reported once, with the public code.
func TestProxyObserver(t *testing.T) {
	for _, tr := range proxytest.Listeners {
		t.Run(tr.Name, func(t *testing.T) {
			w := newWorld(t)
			obs := &seenObs{}
			w.cfg.Observer = obs
			p, _ := New(w.cfg)
			base := tr.Start(t, p)
			send(t, "GET", base+"/v1/proxy/hdr/x", map[string]string{"Attest-Token": w.token(token.Claims{})}, nil)
			send(t, "GET", base+"/v1/proxy/hdr/x", nil, nil)
			send(t, "GET", base+"/v1/proxy/nope/x", nil, nil)
			obs.mu.Lock()
			defer obs.mu.Unlock()
			want := []string{"proxy 200 ", "proxy 401 token_invalid", "proxy 404 not_found"}
			if !slices.Equal(obs.got, want) {
				t.Fatalf("observed %q, want %q", obs.got, want)
			}
		})
	}
}
