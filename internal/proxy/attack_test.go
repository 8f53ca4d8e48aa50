package proxy

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/attestd/attestd/crypto/secret"
	"github.com/attestd/attestd/crypto/token"
	"github.com/attestd/attestd/internal/proxytest"
	"github.com/attestd/attestd/internal/registry"
)

// rawGet sends "GET target" on a fresh connection to base, the request
// target byte for byte as given (no client library cleans it), and reads
// the answer.
func rawGet(t *testing.T, base, target string, hdr map[string]string) answer {
	t.Helper()
	conn, err := net.DialTimeout("tcp", strings.TrimPrefix(base, "http://"), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	var b strings.Builder
	fmt.Fprintf(&b, "GET %s HTTP/1.1\r\nHost: edge.test\r\nConnection: close\r\n", target)
	for k, v := range hdr {
		fmt.Fprintf(&b, "%s: %s\r\n", k, v)
	}
	b.WriteString("\r\n")
	if _, err := io.WriteString(conn, b.String()); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("GET %q: %v", target, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return answer{resp.StatusCode, resp.Header, body}
}

// TestProxyPathEscapeRefused: a {path…} that some server behind the edge
// would read as leaving the upstream's base path is refused with 400
// bad_request on both listeners, with a valid token, and nothing reaches
// the upstream (which would have got the secret with it).
func TestProxyPathEscapeRefused(t *testing.T) {
	for _, tr := range proxytest.Listeners {
		t.Run(tr.Name, func(t *testing.T) {
			w := newWorld(t)
			p, err := New(w.cfg)
			if err != nil {
				t.Fatal(err)
			}
			base := tr.Start(t, p)
			tok := map[string]string{"Attest-Token": w.token(token.Claims{})}
			for _, path := range escapeAttacks {
				for _, api := range []string{"hdr", "qry"} {
					w.up.Take()
					a := rawGet(t, base, Prefix+api+"/"+path, tok)
					if a.status != 400 || a.code(t) != "bad_request" {
						t.Errorf("%s %q: %d %s, want 400 bad_request", api, path, a.status, a.body)
					}
					if got := w.up.Take(); len(got) != 0 {
						t.Errorf("%s %q reached the upstream as %q", api, path, got[0].URI)
					}
				}
			}
			// The same request with a genuine path goes through.
			if a := rawGet(t, base, Prefix+"hdr/v1/a..b/x", tok); a.status != 200 || len(w.up.Take()) != 1 {
				t.Fatalf("genuine path: %d %s", a.status, a.body)
			}
		})
	}
}

// TestProxyPathRulesBeforeToken: a refused path is refused whatever the
// token (the rules are checked first: no signature check for them), and
// an empty segment before the API's name names no API.
func TestProxyPathRulesBeforeToken(t *testing.T) {
	for _, tr := range proxytest.Listeners {
		t.Run(tr.Name, func(t *testing.T) {
			w := newWorld(t)
			p, _ := New(w.cfg)
			base := tr.Start(t, p)
			if a := rawGet(t, base, Prefix+"hdr/..%2Fadmin", nil); a.status != 400 || a.code(t) != "bad_request" {
				t.Errorf("no token: %d %s", a.status, a.body)
			}
			tok := map[string]string{"Attest-Token": w.token(token.Claims{})}
			for _, target := range []string{"/v1/proxy//hdr/x", "/v1/proxy/%2e%2e/hdr/x", "/v1/proxy/hdr%2Fx"} {
				a := rawGet(t, base, target, tok)
				if a.status != 404 {
					t.Errorf("%s: %d %s, want 404", target, a.status, a.body)
				}
			}
			if got := w.up.Take(); len(got) != 0 {
				t.Fatalf("forwarded: %q", got[0].URI)
			}
		})
	}
}

// oddSecret has characters that the query and path escapings encode
// differently (a space, '+', '/', '&', '=', '%').
const oddSecret = "Sk/odd+sec ret&k=7%d1e"

// TestProxyRedirectDoesNotLeakQuerySecret: with the secret injected in the
// query, a real upstream redirect that keeps the query (Go's ServeMux adds
// the trailing slash) would hand it to whoever asked; the Location is
// removed, and so is that redirect's body (ServeMux's, like most, repeats
// the Location in it). So is any other answer header that echoes the secret, as sent
// or percent-encoded in any way, in its value or its name; the other
// headers pass. Over both listeners.
func TestProxyRedirectDoesNotLeakQuerySecret(t *testing.T) {
	for _, tr := range proxytest.Listeners {
		t.Run(tr.Name, func(t *testing.T) {
			w := newWorld(t)
			w.apis.apis["odd"] = &registry.API{Name: "odd", Account: testAccount, Upstream: w.up.URL + "/rec", Query: "key", Secret: secret.FromString(oddSecret)}
			w.apis.apis["oddhdr"] = &registry.API{Name: "oddhdr", Account: testAccount, Upstream: w.up.URL + "/rec", Header: "X-Api-Key", Secret: secret.FromString(oddSecret)}
			p, _ := New(w.cfg)
			base := tr.Start(t, p)
			tok := map[string]string{"Attest-Token": w.token(token.Claims{})}

			mux := http.NewServeMux()
			mux.HandleFunc("/rec/dir/", func(rw http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(rw, "dir") })
			w.up.Answer(mux.ServeHTTP)
			for _, api := range []string{"qry", "odd"} {
				w.up.Take()
				a := send(t, "GET", base+Prefix+api+"/dir?q=1", tok, nil)
				hits := w.up.Take()
				if len(hits) != 1 || !strings.Contains(hits[0].URI, "key=") {
					t.Fatalf("%s: the upstream got %+v", api, hits)
				}
				if a.status/100 != 3 {
					t.Fatalf("%s: %d %s, want the upstream's redirect", api, a.status, a.body)
				}
				// ServeMux's redirect page repeats the Location: a redirect
				// whose Location held the secret comes back without a body.
				if len(a.body) != 0 {
					t.Errorf("%s: the redirect's body passed back: %q", api, a.body)
				}
				if loc := a.header.Values("Location"); len(loc) != 0 {
					t.Errorf("%s: Location %q passed back: it holds the secret", api, loc)
				}
				assertNoSecret(t, a, testSecret, oddSecret)
			}

			w.up.Answer(echoSecret)
			for _, api := range []string{"odd", "oddhdr"} {
				a := send(t, "GET", base+Prefix+api+"/echo", tok, nil)
				if a.status != 200 || string(a.body) != "echoed" {
					t.Fatalf("%s: %d %s", api, a.status, a.body)
				}
				assertNoSecret(t, a, oddSecret)
				if a.header.Get("X-Kept") != "yes" || len(a.header.Values("Set-Cookie")) != 1 || a.header.Get("Set-Cookie") != "theme=dark" {
					t.Errorf("%s: headers without the secret were removed too: %v", api, a.header)
				}
			}
			w.up.Answer(func(rw http.ResponseWriter, _ *http.Request) {
				rw.Header().Set("X-Echo-"+testSecret, "1") // the secret as a header name
				rw.Header().Set("X-Kept", "yes")
			})
			a := send(t, "GET", base+Prefix+"hdr/name", tok, nil)
			assertNoSecret(t, a, testSecret)
			if a.header.Get("X-Kept") != "yes" {
				t.Errorf("X-Kept removed: %v", a.header)
			}
		})
	}
}

// echoSecret answers with the secret the proxy injected (in the query or
// in X-Api-Key) echoed in every form the scrubbing must catch.
func echoSecret(rw http.ResponseWriter, r *http.Request) {
	s := r.URL.Query().Get("key")
	if s == "" {
		s = r.Header.Get("X-Api-Key")
	}
	h := rw.Header()
	h.Set("X-Raw", "got "+s)
	h.Set("X-Query-Escaped", url.QueryEscape(s))
	h.Set("X-Path-Escaped", "/a/"+url.PathEscape(s)+"/b")
	h.Set("X-Lower-Hex", strings.ToLower(url.QueryEscape(s)))
	h.Set("X-Every-Byte", everyByte(s))
	h.Set("X-Twice", url.QueryEscape(url.QueryEscape(s)))
	h.Set("X-Upper", strings.ToUpper(s))
	h.Set("Content-Location", "/x?key="+url.QueryEscape(s))
	h.Add("Set-Cookie", "sid="+url.QueryEscape(s)+"; Path=/")
	h.Add("Set-Cookie", "theme=dark")
	h.Set("X-Kept", "yes")
	_, _ = io.WriteString(rw, "echoed")
}

func everyByte(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		fmt.Fprintf(&b, "%%%02x", s[i])
	}
	return b.String()
}

// assertNoSecret fails if any header name or value of a holds one of
// secrets in any of the forms echoSecret sends.
func assertNoSecret(t *testing.T, a answer, secrets ...string) {
	t.Helper()
	for name, vs := range a.header {
		all := strings.ToLower(name + ": " + strings.Join(vs, "\n"))
		for _, s := range secrets {
			for _, form := range []string{s, url.QueryEscape(s), url.PathEscape(s), everyByte(s), url.QueryEscape(url.QueryEscape(s))} {
				if strings.Contains(all, strings.ToLower(form)) {
					t.Errorf("answer header %s holds the secret: %q", name, vs)
				}
			}
		}
	}
	var e struct{ Message string }
	if json.Unmarshal(a.body, &e) == nil && e.Message != "" {
		for _, s := range secrets {
			if strings.Contains(e.Message, s) {
				t.Errorf("error message holds the secret")
			}
		}
	}
}
