package e2e

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/attestd/attestd/client"
	"github.com/attestd/attestd/internal/testenv"
	"github.com/attestd/attestd/internal/testenv/h3test"
)

// proxyListener sends one proxied GET to a node over one of its listeners,
// the request target byte for byte as given.
type proxyListener struct {
	name string
	get  func(t *testing.T, target string, hdr map[string]string) (int, http.Header, []byte)
}

// newAttackRig is newProxyRig's node with its HTTP/3 listener too, and
// the daemon's two listeners as proxyListeners: HTTP/1.1 (fasthttp, raw
// TCP, so no client library cleans the target) and HTTP/3 (quic-go's
// client, the target set as the URL's Opaque so it is sent as given).
func newAttackRig(t *testing.T) (*proxyRig, []proxyListener) {
	r := &proxyRig{up: newProxyUpstream(t), clock: &testenv.Clock{}}
	r.f = proxyFixture(t, r.up.srv.URL)
	r.store = testenv.NewStore(t, r.f)
	cert := h3test.NewCert(t, t.TempDir(), "node")
	r.node = testenv.StartNode(t, r.store, h3test.TLSOptions(cert, testenv.Options{}))
	r.e = &env{t: t, f: r.f, node: r.node, tr: http1()}
	h3 := h3test.H3Client(t, cert.Pool)
	h3base := h3test.H3Base(r.node)
	return r, []proxyListener{
		{"http1", func(t *testing.T, target string, hdr map[string]string) (int, http.Header, []byte) {
			return rawHTTP1(t, r.node.Base, target, hdr)
		}},
		{"http3", func(t *testing.T, target string, hdr map[string]string) (int, http.Header, []byte) {
			return opaqueGet(t, h3, h3base, target, hdr)
		}},
	}
}

func rawHTTP1(t *testing.T, base, target string, hdr map[string]string) (int, http.Header, []byte) {
	t.Helper()
	conn, err := net.DialTimeout("tcp", strings.TrimPrefix(base, "http://"), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(20 * time.Second))
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
	return resp.StatusCode, resp.Header, body
}

func opaqueGet(t *testing.T, hc *http.Client, base, target string, hdr map[string]string) (int, http.Header, []byte) {
	t.Helper()
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	u.Opaque = target // sent as the :path, as given
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, "GET", "https://placeholder/", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.URL, req.Host = u, u.Host
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	hc2 := *hc
	hc2.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := hc2.Do(req)
	if err != nil {
		t.Fatalf("GET %q over HTTP/3: %v", target, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, body
}

// escapePaths are the {path…} of the attack on the upstream's base path.
var escapePaths = []string{"%2e%2e%2fadmin", "..;/admin", "..%5Cadmin", "..%252Fadmin", "..%2F..%2Fadmin",
	".%2E/admin", "%252e%252e/admin", "a%00b", "a\\b"}

// TestProxyPathEscapeRefused: on a real node, over its HTTP/1.1 and HTTP/3
// listeners, with a valid token, each path that some server would read as
// leaving the upstream's base path is refused 400 bad_request and nothing
// reaches the upstream (which would have got the secret with it), for an
// API injecting a header and one injecting a query parameter.
func TestProxyPathEscapeRefused(t *testing.T) {
	r, listeners := newAttackRig(t)
	tok := map[string]string{"Attest-Token": r.mint(t, testenv.App, client.Evidence{})}
	for _, l := range listeners {
		t.Run(l.name, func(t *testing.T) {
			for _, api := range []string{"maps", "geo"} {
				for _, p := range escapePaths {
					r.up.take()
					st, _, body := l.get(t, "/v1/proxy/"+api+"/"+p, tok)
					if st != 400 || proxyErrCode(t, body) != "bad_request" {
						t.Errorf("%s %q: %d %s, want 400 bad_request", api, p, st, body)
					}
					if hits := r.up.take(); len(hits) != 0 {
						t.Errorf("%s %q reached the upstream as %q", api, p, hits[0].uri)
					}
				}
			}
			st, _, body := l.get(t, "/v1/proxy/maps/v1/a..b", tok)
			if hits := r.up.take(); st != 200 || len(hits) != 1 || hits[0].uri != "/maps/v1/a..b" {
				t.Fatalf("genuine path: %d %s, %d upstream requests", st, body, len(hits))
			}
		})
	}
}

// TestProxyAPINameMatchedExactly: an empty segment, or one that decodes to
// a dot segment or holds an encoded slash, where the API's name goes names
// no API, on both listeners.
func TestProxyAPINameMatchedExactly(t *testing.T) {
	r, listeners := newAttackRig(t)
	tok := map[string]string{"Attest-Token": r.mint(t, testenv.App, client.Evidence{})}
	for _, l := range listeners {
		t.Run(l.name, func(t *testing.T) {
			for _, target := range []string{"/v1/proxy//maps/x", "/v1/proxy/%2e%2e/maps/x", "/v1/proxy/maps%2Fx", "/v1//proxy/maps/x"} {
				r.up.take()
				st, _, body := l.get(t, target, tok)
				if st != 404 || proxyErrCode(t, body) != "not_found" {
					t.Errorf("%s: %d %s, want 404 not_found", target, st, body)
				}
				if hits := r.up.take(); len(hits) != 0 {
					t.Errorf("%s reached the upstream as %q", target, hits[0].uri)
				}
			}
		})
	}
}

// TestProxyRedirectDoesNotLeakQuerySecret: on a real node, over both
// listeners, an upstream whose ServeMux redirects /geo/dir to /geo/dir/
// keeping the query (the injected secret with it) is answered with the
// redirect but without its Location and its body, which held the secret;
// an upstream that echoes the secret in a header and in Set-Cookie has
// those removed.
func TestProxyRedirectDoesNotLeakQuerySecret(t *testing.T) {
	r, listeners := newAttackRig(t)
	tok := map[string]string{"Attest-Token": r.mint(t, testenv.App, client.Evidence{})}
	mux := http.NewServeMux()
	mux.HandleFunc("/geo/dir/", func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "dir") })
	mux.HandleFunc("/maps/echo", func(w http.ResponseWriter, req *http.Request) {
		s := req.Header.Get("X-Api-Key")
		w.Header().Set("X-Debug-Key", url.QueryEscape(s))
		w.Header().Add("Set-Cookie", "k="+s+"; Path=/")
		w.Header().Add("Set-Cookie", "theme=dark")
		_, _ = io.WriteString(w, "echoed")
	})
	r.up.Answer(mux.ServeHTTP)
	t.Cleanup(func() { r.up.Answer(nil) })
	for _, l := range listeners {
		t.Run(l.name, func(t *testing.T) {
			r.up.take()
			st, h, body := l.get(t, "/v1/proxy/geo/dir?q=1", tok)
			hits := r.up.take()
			if len(hits) != 1 || !strings.Contains(hits[0].uri, "key="+testenv.SecretValue) {
				t.Fatalf("the upstream did not get the secret in its query (the test proves nothing): %+v", hits)
			}
			if st/100 != 3 {
				t.Fatalf("%d %s, want the upstream's redirect", st, body)
			}
			noSecretIn(t, h, body)
			st, h, body = l.get(t, "/v1/proxy/maps/echo", tok)
			if st != 200 || string(body) != "echoed" || h.Get("Set-Cookie") != "theme=dark" {
				t.Fatalf("echo: %d %s %v", st, body, h)
			}
			noSecretIn(t, h, nil)
		})
	}
}

func noSecretIn(t *testing.T, h http.Header, body []byte) {
	t.Helper()
	var sb strings.Builder
	_ = h.Write(&sb)
	sb.Write(body)
	for _, form := range []string{testenv.SecretValue, url.QueryEscape(testenv.SecretValue)} {
		if strings.Contains(sb.String(), form) {
			t.Errorf("the answer holds the secret:\n%s", sb.String())
		}
	}
}

// TestProxyBodyEchoOfQuerySecretMasked: on a real node, over both
// listeners (HTTP/1.1 and real HTTP/3), an upstream error page that echoes
// the request URL with its query (the injected secret with it) and one
// that echoes the request's headers are answered with the secret masked in
// the body, the rest as sent.
func TestProxyBodyEchoOfQuerySecretMasked(t *testing.T) {
	r, listeners := newAttackRig(t)
	tok := map[string]string{"Attest-Token": r.mint(t, testenv.App, client.Evidence{})}
	r.up.Answer(func(w http.ResponseWriter, req *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(400)
		fmt.Fprintf(w, `{"error":"invalid request %s","key":%q}`, req.URL.String(), req.Header.Get("X-Api-Key"))
	})
	t.Cleanup(func() { r.up.Answer(nil) })
	for _, l := range listeners {
		t.Run(l.name, func(t *testing.T) {
			for _, api := range []string{"geo", "maps"} {
				r.up.take()
				st, h, body := l.get(t, "/v1/proxy/"+api+"/nope?q=1", tok)
				if hits := r.up.take(); len(hits) != 1 {
					t.Fatalf("%s: %d upstream hits", api, len(hits))
				}
				if st != 400 || !strings.Contains(string(body), `{"error":"invalid request /`+api+`/nope?`) || !strings.Contains(string(body), "*****") {
					t.Fatalf("%s: %d %s, want the upstream's echo, masked", api, st, body)
				}
				noSecretIn(t, h, body)
			}
		})
	}
}
