package backend

import (
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/attestd/attestd/crypto/token"
)

// transports start a server on 127.0.0.1 running the middleware of v in
// front of a handler that answers the claims it was given as JSON, and
// return its URL. The same cases run over each (DESIGN.md: one core, thin
// adapters).
var transports = map[string]func(t *testing.T, v *Verifier, opts ...MiddlewareOption) string{
	"net-http": func(t *testing.T, v *Verifier, opts ...MiddlewareOption) string {
		srv := httptest.NewServer(v.HTTP(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			c, ok := ClaimsFrom(r.Context())
			if !ok {
				http.Error(w, "no claims", http.StatusInternalServerError)
				return
			}
			_ = json.NewEncoder(w).Encode(c)
		}), opts...))
		t.Cleanup(srv.Close)
		return srv.URL
	},
	"fasthttp": func(t *testing.T, v *Verifier, opts ...MiddlewareOption) string {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		srv := &fasthttp.Server{
			Handler: v.Fasthttp(func(ctx *fasthttp.RequestCtx) {
				c, ok := ClaimsFromFasthttp(ctx)
				if !ok {
					ctx.Error("no claims", fasthttp.StatusInternalServerError)
					return
				}
				b, _ := json.Marshal(c)
				ctx.SetBody(b)
			}, opts...),
			ReadTimeout:        5 * time.Second,
			IdleTimeout:        5 * time.Second,
			MaxRequestBodySize: 64 << 10,
		}
		var wg sync.WaitGroup
		wg.Go(func() { _ = srv.Serve(ln) })
		t.Cleanup(func() { _ = srv.Shutdown(); wg.Wait() })
		return "http://" + ln.Addr().String()
	},
}

type httpCase struct {
	name    string
	headers [][2]string
	status  int
	message string // for 401s
	sub     string // for 200s
}

func TestMiddleware(t *testing.T) {
	clk := newClock()
	hs, es := hsSigner(t, "hs-1"), esSigner(t, "es-1")
	decoy, _ := hs.Decoy()
	srv := newJWKSServer(t, pub(t, es))
	v := newVerifier(t, Config{Keys: []token.VerifyKey{hs.Verifier()}, JWKSURL: srv.url(), Audience: "acme", Now: clk.Now})
	now := clk.Now()
	auth := "Bearer session-42"
	good := mint(t, hs, claimsAt(now))
	bc := claimsAt(now)
	bc.Payload = token.BindingHash([]byte(auth))
	bound := mint(t, hs, bc)
	expired := claimsAt(now)
	expired.ExpiresAt = now.Unix() - 60
	other := claimsAt(now)
	other.Audience = "other"
	tk := func(tok string) [2]string { return [2]string{"Attest-Token", tok} }
	au := func(v string) [2]string { return [2]string{"Authorization", v} }
	cases := []httpCase{
		{"ok/hs256", [][2]string{tk(good)}, 200, "", "com.example.shop"},
		{"ok/es256-from-jwks", [][2]string{tk(mint(t, es, claimsAt(now)))}, 200, "", "com.example.shop"},
		{"ok/bound", [][2]string{tk(bound), au(auth)}, 200, "", "com.example.shop"},
		{"ok/unbound-with-authorization", [][2]string{tk(good), au(auth)}, 200, "", "com.example.shop"},
		{"fail/missing", nil, 401, "exactly one token header is required", ""},
		{"fail/empty", [][2]string{tk("")}, 401, "exactly one token header is required", ""},
		{"fail/repeated", [][2]string{tk(good), tk(good)}, 401, "exactly one token header is required", ""},
		{"fail/bearer-is-not-read", [][2]string{au("Bearer " + good)}, 401, "exactly one token header is required", ""},
		{"fail/malformed", [][2]string{tk("eyJ.garbage")}, 401, "malformed token", ""},
		{"fail/expired", [][2]string{tk(mint(t, hs, expired))}, 401, "token expired", ""},
		{"fail/other-account", [][2]string{tk(mint(t, hs, other))}, 401, "token issued for another account", ""},
		{"fail/decoy", [][2]string{tk(mint(t, decoy, claimsAt(now)))}, 401, "bad token signature", ""},
		{"fail/unknown-kid", [][2]string{tk(mint(t, hsSigner(t, "hs-9"), claimsAt(now)))}, 401, "token signed with an unknown key", ""},
		{"fail/bound-no-authorization", [][2]string{tk(bound)}, 401, "token binding does not match the request", ""},
		{"fail/bound-other-authorization", [][2]string{tk(bound), au("Bearer session-43")}, 401, "token binding does not match the request", ""},
		{"fail/bound-repeated-authorization", [][2]string{tk(bound), au(auth), au(auth)}, 401, "token binding does not match the request", ""},
	}
	for name, start := range transports {
		t.Run(name, func(t *testing.T) {
			var rejects []error
			var mu sync.Mutex
			url := start(t, v, WithBindingHeader("Authorization"), WithRejectHook(func(err error) {
				mu.Lock()
				defer mu.Unlock()
				rejects = append(rejects, err)
			}))
			for _, tc := range cases {
				t.Run(tc.name, func(t *testing.T) { runHTTPCase(t, url, tc) })
			}
			mu.Lock()
			defer mu.Unlock()
			if want := 12; len(rejects) != want {
				t.Errorf("reject hook called %d times, want %d", len(rejects), want)
			}
		})
	}
}

func runHTTPCase(t *testing.T, url string, tc httpCase) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url+"/orders", nil)
	for _, h := range tc.headers {
		req.Header.Add(h[0], h[1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != tc.status {
		t.Fatalf("status %d, want %d; body %s", resp.StatusCode, tc.status, body)
	}
	if tc.status == 200 {
		var c token.Claims
		if err := json.Unmarshal(body, &c); err != nil || c.Subject != tc.sub || c.Audience != "acme" {
			t.Fatalf("handler saw claims %s (%v)", body, err)
		}
		return
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q", ct)
	}
	var e map[string]string
	if err := json.Unmarshal(body, &e); err != nil || len(e) != 2 || e["error"] != "token_invalid" || e["message"] != tc.message {
		t.Fatalf("body %s (%v), want token_invalid / %q", body, err, tc.message)
	}
	for _, h := range tc.headers {
		if len(h[1]) > 8 && strings.Contains(string(body), h[1][len(h[1])-8:]) {
			t.Fatalf("the answer echoes a header: %s", body)
		}
	}
}

func TestMiddlewareOptions(t *testing.T) {
	clk := newClock()
	hs := hsSigner(t, "hs-1")
	v := newVerifier(t, Config{Keys: []token.VerifyKey{hs.Verifier()}, Audience: "acme", Now: clk.Now})
	auth := "Bearer s"
	bc := claimsAt(clk.Now())
	bc.Payload = token.BindingHash([]byte(auth))
	bound := mint(t, hs, bc)
	for name, start := range transports {
		t.Run(name+"/custom-token-header", func(t *testing.T) {
			url := start(t, v, WithTokenHeader("x-attest"))
			runHTTPCase(t, url, httpCase{"", [][2]string{{"X-Attest", mint(t, hs, claimsAt(clk.Now()))}}, 200, "", "com.example.shop"})
			runHTTPCase(t, url, httpCase{"", [][2]string{{"Attest-Token", mint(t, hs, claimsAt(clk.Now()))}}, 401, "exactly one token header is required", ""})
		})
		t.Run(name+"/no-binding-header", func(t *testing.T) {
			url := start(t, v)
			runHTTPCase(t, url, httpCase{"", [][2]string{{"Attest-Token", bound}, {"Authorization", auth}}, 401, "token binding does not match the request", ""})
		})
		t.Run(name+"/custom-binding-header", func(t *testing.T) {
			url := start(t, v, WithBindingHeader("X-Session"))
			runHTTPCase(t, url, httpCase{"", [][2]string{{"Attest-Token", bound}, {"X-Session", auth}}, 200, "", "com.example.shop"})
		})
	}
}

func TestRejectionMessages(t *testing.T) {
	for err, want := range map[error]string{
		ErrNoToken:                                "exactly one token header is required",
		token.ErrAlgorithm:                        "token algorithm not allowed for its key",
		token.ErrNotYetValid:                      "token not yet valid",
		token.ErrIssuer:                           "token from another issuer",
		errors.New("something else"):              "token could not be verified",
		errors.Join(token.ErrUnknownKey, ErrJWKS): "token signed with an unknown key",
	} {
		var e map[string]string
		status, body := rejection(err)
		if err := json.Unmarshal([]byte(body), &e); err != nil || status != 401 || e["message"] != want || e["error"] != "token_invalid" {
			t.Errorf("rejection(%v) = %v", err, e)
		}
	}
}
