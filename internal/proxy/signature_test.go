package proxy

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/attestd/attestd/backend"
	"github.com/attestd/attestd/crypto/httpsig"
	"github.com/attestd/attestd/crypto/secret"
	"github.com/attestd/attestd/crypto/token"
	"github.com/attestd/attestd/internal/proxytest"
	"github.com/attestd/attestd/internal/registry"
)

// PROTOCOL.md §12 on the proxy: an API with require_signature gets nothing
// of a request whose signature does not check out, over both listeners.

// signedRequest is a request to the proxy at base as the app sends it:
// token, Content-Digest, and (with key) the att signature made at created
// over what it sends; authority, when set, is signed instead of the URL's.
func signedRequest(t *testing.T, method, u, tok string, body []byte, key *ecdsa.PrivateKey, created time.Time, authority string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, u, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set(TokenHeader, tok)
	if len(body) > 0 {
		req.Header.Set("Content-Digest", string(httpsig.AppendContentDigest(nil, body)))
	}
	if key != nil {
		msg := httpsig.ClientRequest(req)
		if authority != "" {
			msg.Authority = authority
		}
		in, sig, err := httpsig.SignRequest(&msg, len(body) > 0, key, created.Unix())
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Signature-Input", "att="+in)
		req.Header.Set("Signature", "att="+sig)
	}
	return req
}

func sendReq(t *testing.T, req *http.Request) (int, string) {
	t.Helper()
	if req.GetBody != nil {
		req.Body, _ = req.GetBody()
	}
	hc := &http.Client{Transport: &http.Transport{}, Timeout: 20 * time.Second}
	defer hc.CloseIdleConnections()
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode == 200 {
		return 200, string(b)
	}
	var e struct{ Error string }
	_ = json.Unmarshal(b, &e)
	return resp.StatusCode, e.Error
}

// signedWorld adds the API "signed" (require_signature) to a world, and a
// device whose key the world's bound tokens carry.
func signedWorld(t *testing.T) (*world, *ecdsa.PrivateKey) {
	w := newWorld(t)
	w.apis.apis["signed"] = &registry.API{Name: "signed", Account: testAccount, Upstream: w.up.URL + "/rec", RequireSignature: true,
		Header: "X-Api-Key", Secret: secret.FromString(testSecret)}
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	return w, k
}

func boundClaims(k *ecdsa.PrivateKey) token.Claims {
	pt, _ := k.PublicKey.Bytes()
	return token.Claims{Subject: "app", Device: string(httpsig.DID(nil, pt)), Confirmation: [token.ConfirmationSize]byte(pt)}
}

func TestProxyRequireSignature(t *testing.T) {
	for _, tr := range proxytest.Listeners {
		t.Run(tr.Name, func(t *testing.T) {
			w, key := signedWorld(t)
			w.cfg.MaxBodyBytes = 1 << 10
			p, err := New(w.cfg)
			if err != nil {
				t.Fatal(err)
			}
			base := tr.Start(t, p)
			bound := w.token(boundClaims(key))
			body := []byte(`{"amount":42}`)
			forwarded := func(t *testing.T, want int) []proxytest.Hit {
				t.Helper()
				hits := w.up.Take()
				if len(hits) != want {
					t.Fatalf("%d requests forwarded, want %d", len(hits), want)
				}
				return hits
			}
			refused := func(t *testing.T, req *http.Request, status int, code string) {
				t.Helper()
				w.up.Take()
				if s, c := sendReq(t, req); s != status || c != code {
					t.Fatalf("%d %s, want %d %s", s, c, status, code)
				}
				forwarded(t, 0)
			}

			t.Run("genuine-post", func(t *testing.T) {
				w.up.Take()
				req := signedRequest(t, "POST", base+"/v1/proxy/signed/pay?to=bob", bound, body, key, w.now, "")
				if s, got := sendReq(t, req); s != 200 || got != "ok" {
					t.Fatalf("%d %s", s, got)
				}
				h := forwarded(t, 1)[0]
				if string(h.Body) != string(body) || h.URI != "/rec/pay?to=bob" {
					t.Fatalf("upstream got %s %q", h.URI, h.Body)
				}
				for _, name := range []string{TokenHeader, "Signature-Input", "Signature"} {
					if _, ok := h.Header[name]; ok {
						t.Errorf("the upstream got %s", name)
					}
				}
				if h.Header.Get("Content-Digest") == "" {
					t.Error("Content-Digest, a property of the body, was dropped")
				}
			})
			t.Run("genuine-get", func(t *testing.T) {
				w.up.Take()
				if s, got := sendReq(t, signedRequest(t, "GET", base+"/v1/proxy/signed/items", bound, nil, key, w.now, "")); s != 200 {
					t.Fatalf("%d %s", s, got)
				}
				forwarded(t, 1)
			})
			t.Run("unsigned", func(t *testing.T) {
				refused(t, signedRequest(t, "GET", base+"/v1/proxy/signed/items", bound, nil, nil, w.now, ""), 401, "request_signature_invalid")
			})
			t.Run("replayed", func(t *testing.T) {
				req := signedRequest(t, "POST", base+"/v1/proxy/signed/pay", bound, body, key, w.now, "")
				w.up.Take()
				if s, c := sendReq(t, req); s != 200 {
					t.Fatalf("first: %d %s", s, c)
				}
				forwarded(t, 1)
				refused(t, req, 401, "request_signature_invalid")
			})
			t.Run("token-without-cnf", func(t *testing.T) {
				refused(t, signedRequest(t, "GET", base+"/v1/proxy/signed/items", w.token(token.Claims{Subject: "app"}), nil, key, w.now, ""),
					401, "request_signature_invalid")
			})
			t.Run("token-invalid-first", func(t *testing.T) {
				refused(t, signedRequest(t, "GET", base+"/v1/proxy/signed/items", bound+"x", nil, key, w.now, ""), 401, "token_invalid")
			})
			t.Run("body-changed-digest-kept", func(t *testing.T) {
				req := signedRequest(t, "POST", base+"/v1/proxy/signed/pay", bound, body, key, w.now, "")
				other := []byte(`{"amount":4200}`)
				req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(other)), nil }
				req.ContentLength = int64(len(other))
				refused(t, req, 401, "request_signature_invalid")
			})
			t.Run("stale", func(t *testing.T) {
				refused(t, signedRequest(t, "GET", base+"/v1/proxy/signed/items", bound, nil, key, w.now.Add(-61*time.Second), ""),
					401, "request_signature_invalid")
			})
			t.Run("signed-for-another-path", func(t *testing.T) {
				req := signedRequest(t, "GET", base+"/v1/proxy/signed/items", bound, nil, key, w.now, "")
				req.URL.Path = "/v1/proxy/signed/admin"
				refused(t, req, 401, "request_signature_invalid")
			})
			t.Run("signed-for-another-authority", func(t *testing.T) {
				refused(t, signedRequest(t, "GET", base+"/v1/proxy/signed/items", bound, nil, key, w.now, "edge.example.com"),
					401, "request_signature_invalid")
			})
			t.Run("another-key", func(t *testing.T) {
				thief, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
				refused(t, signedRequest(t, "GET", base+"/v1/proxy/signed/items", bound, nil, thief, w.now, ""), 401, "request_signature_invalid")
			})
			t.Run("body-over-the-limit", func(t *testing.T) {
				big := bytes.Repeat([]byte("x"), 2<<10)
				refused(t, signedRequest(t, "POST", base+"/v1/proxy/signed/pay", bound, big, key, w.now, ""), 413, "body_too_large")
			})
			t.Run("api-without-require-signature-drops-att", func(t *testing.T) {
				w.up.Take()
				req := signedRequest(t, "GET", base+"/v1/proxy/hdr/x", bound, nil, key, w.now, "")
				req.Header.Add("Signature-Input", `other=("@method");created=1`)
				if s, c := sendReq(t, req); s != 200 {
					t.Fatalf("%d %s", s, c)
				}
				h := forwarded(t, 1)[0]
				if got := h.Header.Values("Signature-Input"); len(got) != 1 || got[0] != `other=("@method");created=1` {
					t.Fatalf("upstream Signature-Input %q", got)
				}
				if _, ok := h.Header["Signature"]; ok {
					t.Fatal("the upstream got the att signature")
				}
			})
		})
	}
}

// TestProxyBehindAHostRewritingBalancer: with Config.Authority, the proxy
// checks the authority the app addressed, whatever Host reaches the node.
func TestProxyBehindAHostRewritingBalancer(t *testing.T) {
	for _, tr := range proxytest.Listeners {
		t.Run(tr.Name, func(t *testing.T) {
			w, key := signedWorld(t)
			w.cfg.Authority = "Edge.Example.com"
			p, err := New(w.cfg)
			if err != nil {
				t.Fatal(err)
			}
			base := tr.Start(t, p)
			bound := w.token(boundClaims(key))
			if s, c := sendReq(t, signedRequest(t, "GET", base+"/v1/proxy/signed/items", bound, nil, key, w.now, "edge.example.com")); s != 200 {
				t.Fatalf("%d %s", s, c)
			}
			u, _ := url.Parse(base)
			if s, c := sendReq(t, signedRequest(t, "GET", base+"/v1/proxy/signed/items", bound, nil, key, w.now, u.Host)); s != 401 || c != "request_signature_invalid" {
				t.Fatalf("signed for the node's own address: %d %s", s, c)
			}
		})
	}
}

// TestProxyReplayWindowFullFailsClosed: a node whose replay window is
// full answers 503 and forwards nothing unrecorded.
func TestProxyReplayWindowFullFailsClosed(t *testing.T) {
	w, key := signedWorld(t)
	w.cfg.Replay = backend.NewMemoryReplayCache(1)
	p, err := New(w.cfg)
	if err != nil {
		t.Fatal(err)
	}
	base := proxytest.ServeFasthttp(t, p)
	bound := w.token(boundClaims(key))
	for i := 0; i < 200; i++ {
		w.up.Take()
		s, c := sendReq(t, signedRequest(t, "GET", base+"/v1/proxy/signed/items", bound, nil, key, w.now, ""))
		if s == 503 {
			if c != "overloaded" || len(w.up.Take()) != 0 {
				t.Fatalf("%d %s, forwarded anyway", s, c)
			}
			return
		}
		if s != 200 {
			t.Fatalf("%d %s", s, c)
		}
	}
	t.Fatal("200 signatures in a window of 16 entries and never a 503")
}
