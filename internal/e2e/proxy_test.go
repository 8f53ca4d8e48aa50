package e2e

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/attestd/attestd/client"
	"github.com/attestd/attestd/crypto/secret"
	"github.com/attestd/attestd/internal/model"
	"github.com/attestd/attestd/internal/proxy"
	"github.com/attestd/attestd/internal/proxytest"
	"github.com/attestd/attestd/internal/registry"
	"github.com/attestd/attestd/internal/testenv"
	"github.com/attestd/attestd/store"
	"github.com/attestd/attestd/store/open"
)

const (
	esSecretName  = "es_maps_key"
	esSecretValue = "sk_es_7c0f"
	bigSize       = 50 << 20
)

// upstreamHit is one request the upstream received.
type upstreamHit struct {
	uri    string
	header http.Header
}

// proxyUpstream is the proxied APIs' upstream: it answers JSON, and /big
// streams bigSize bytes.
type proxyUpstream struct {
	*proxytest.Upstream
	srv *httptest.Server
}

func newProxyUpstream(t *testing.T) *proxyUpstream {
	u := proxytest.NewUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/big") {
			w.Header().Set("Content-Type", "application/octet-stream")
			buf := bigChunk()
			for sent := 0; sent < bigSize; sent += len(buf) {
				if _, err := w.Write(buf); err != nil {
					return
				}
			}
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"upstream":"ok"}`)
	})
	return &proxyUpstream{Upstream: u, srv: u.Server}
}

func bigChunk() []byte {
	b := make([]byte, 64<<10)
	for i := range b {
		b[i] = byte(i * 7)
	}
	return b
}

// take returns the requests received since the last take, as the e2e
// proxy tests read them.
func (u *proxyUpstream) take() []upstreamHit {
	var hits []upstreamHit
	for _, h := range u.Take() {
		hits = append(hits, upstreamHit{h.URI, h.Header})
	}
	return hits
}

// proxyFixture adds proxied APIs to the test registry, upstream at up:
// acme has maps (header), geo (query), bound (binding required), down
// (nothing listens) and big; acme-es has es-maps.
func proxyFixture(t *testing.T, up string) *testenv.Fixture {
	f := testenv.NewFixture(t)
	down := "http://" + proxytest.ClosedAddr(t)
	hdr := model.Inject{Header: "X-Api-Key", Secret: testenv.SecretName}
	f.Bundle.Accounts[0].APIs = []model.API{
		{Name: "maps", Upstream: up + "/maps", Inject: hdr},
		{Name: "geo", Upstream: up + "/geo?v=2", Inject: model.Inject{Query: "key", Secret: testenv.SecretName}},
		{Name: "bound", Upstream: up + "/bound", RequireBinding: true, Inject: hdr},
		{Name: "down", Upstream: down, Inject: hdr},
		{Name: "big", Upstream: up + "/big", Inject: hdr},
	}
	es := &f.Bundle.Accounts[1]
	es.Secrets = []model.Secret{{Name: esSecretName, Value: secret.FromString(esSecretValue), Apps: []string{testenv.AppES}}}
	es.APIs = []model.API{{Name: "es-maps", Upstream: up + "/es", Inject: model.Inject{Header: "X-Api-Key", Secret: esSecretName}}}
	return f
}

// liveRegistry is a registry of s that follows its changes, as a node's.
func liveRegistry(t *testing.T, s *testenv.Store) *registry.Registry {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	st, seal, err := open.Open(ctx, s.URL, open.Options{PollInterval: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	reg, err := registry.New(registry.Config{Sealer: seal})
	if err != nil {
		t.Fatal(err)
	}
	snap, err := st.Load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := reg.Swap(snap); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = st.Watch(ctx, snap, func(sn *store.Snapshot) { _ = reg.Swap(sn) })
	}()
	t.Cleanup(func() { cancel(); <-done; reg.Close(); st.Close() })
	return reg
}

type proxyRig struct {
	f     *testenv.Fixture
	store *testenv.Store
	node  *testenv.Node
	up    *proxyUpstream
	reg   *registry.Registry
	clock *testenv.Clock
	e     *env
}

func newProxyRig(t *testing.T) *proxyRig {
	r := &proxyRig{up: newProxyUpstream(t), clock: &testenv.Clock{}}
	r.f = proxyFixture(t, r.up.srv.URL)
	r.store = testenv.NewStore(t, r.f)
	r.node = testenv.StartNode(t, r.store, testenv.Options{})
	r.reg = liveRegistry(t, r.store)
	r.e = &env{t: t, f: r.f, node: r.node, tr: http1()}
	return r
}

func (r *proxyRig) proxy(t *testing.T) *proxy.Proxy {
	p, err := proxy.New(proxy.Config{APIs: r.reg, Now: r.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// mint attests app on the real daemon and returns the token.
func (r *proxyRig) mint(t *testing.T, app string, ev client.Evidence) string {
	t.Helper()
	r.e.t = t
	c := r.e.client(app)
	return decodeVerdict(t, r.e.attest(c, r.e.body(c, r.e.nonce(c), ev))).Token
}

func proxyDo(t *testing.T, method, url string, hdr map[string]string) (int, http.Header, []byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, b
}

func proxyErrCode(t *testing.T, b []byte) string {
	t.Helper()
	var e struct{ Error, Message string }
	if err := json.Unmarshal(b, &e); err != nil || e.Message == "" {
		t.Fatalf("error body %q", b)
	}
	return e.Error
}

// TestProxyWithRealTokens runs the proxy on a registry read from a real
// store, with tokens minted by a real daemon, over both adapters.
func TestProxyWithRealTokens(t *testing.T) {
	r := newProxyRig(t)
	pass := r.mint(t, testenv.App, client.Evidence{})
	decoy := r.mint(t, testenv.App, client.Evidence{Integrity: client.Integrity{Rooted: true}})
	other := r.mint(t, testenv.AppES, client.Evidence{})
	bound := r.mint(t, testenv.App, client.Evidence{Binding: []byte("Bearer alice")})
	for _, tr := range proxytest.Listeners {
		t.Run(tr.Name, func(t *testing.T) {
			base := tr.Start(t, r.proxy(t))
			type check func(t *testing.T, status int, body []byte, hits []upstreamHit)
			ok := func(uri, key string) check {
				return func(t *testing.T, status int, body []byte, hits []upstreamHit) {
					if status != 200 || string(body) != `{"upstream":"ok"}` || len(hits) != 1 {
						t.Fatalf("%d %s, %d upstream requests", status, body, len(hits))
					}
					h := hits[0]
					if h.uri != uri {
						t.Errorf("upstream URI %q, want %q", h.uri, uri)
					}
					if got := h.header.Values("X-Api-Key"); key != "" && (len(got) != 1 || got[0] != key) {
						t.Error("X-Api-Key is not the API's secret")
					}
					if _, has := h.header["Attest-Token"]; has {
						t.Error("Attest-Token reached the upstream")
					}
				}
			}
			refused := func(status int, code string) check {
				return func(t *testing.T, st int, body []byte, hits []upstreamHit) {
					if st != status || proxyErrCode(t, body) != code || len(hits) != 0 {
						t.Fatalf("%d %s, %d upstream requests; want %d %s and nothing forwarded", st, body, len(hits), status, code)
					}
				}
			}
			for _, tc := range []struct {
				name, path string
				hdr        map[string]string
				check      check
			}{
				{"pass/header", "/v1/proxy/maps/v1/geocode?address=Main+St",
					map[string]string{"Attest-Token": pass, "X-Api-Key": "app-supplied"}, ok("/maps/v1/geocode?address=Main+St", testenv.SecretValue)},
				{"pass/query", "/v1/proxy/geo/find?key=app-supplied&q=1",
					map[string]string{"Attest-Token": pass}, ok("/geo/find?v=2&q=1&key="+testenv.SecretValue, "")},
				{"pass/other-account-api", "/v1/proxy/es-maps/x", map[string]string{"Attest-Token": other}, ok("/es/x", esSecretValue)},
				{"pass/bound", "/v1/proxy/bound/me", map[string]string{"Attest-Token": bound, "Authorization": "Bearer alice"},
					ok("/bound/me", testenv.SecretValue)},
				{"fail/bound-no-authorization", "/v1/proxy/bound/me", map[string]string{"Attest-Token": bound}, refused(401, "token_invalid")},
				{"fail/bound-other-authorization", "/v1/proxy/bound/me",
					map[string]string{"Attest-Token": bound, "Authorization": "Bearer mallory"}, refused(401, "token_invalid")},
				{"fail/binding-required-unbound-token", "/v1/proxy/bound/me",
					map[string]string{"Attest-Token": pass, "Authorization": "Bearer alice"}, refused(401, "token_invalid")},
				{"fail/failed-verdict-token", "/v1/proxy/maps/x", map[string]string{"Attest-Token": decoy}, refused(401, "token_invalid")},
				{"fail/token-of-another-account", "/v1/proxy/maps/x", map[string]string{"Attest-Token": other}, refused(401, "token_invalid")},
				{"fail/token-for-another-account-api", "/v1/proxy/es-maps/x", map[string]string{"Attest-Token": pass}, refused(401, "token_invalid")},
				{"fail/no-token", "/v1/proxy/maps/x", nil, refused(401, "token_invalid")},
				{"fail/unknown-api", "/v1/proxy/nope/x", map[string]string{"Attest-Token": pass}, refused(404, "not_found")},
				{"fail/upstream-down", "/v1/proxy/down/x", map[string]string{"Attest-Token": pass}, refused(502, "bad_gateway")},
			} {
				t.Run(tc.name, func(t *testing.T) {
					r.up.take()
					st, _, body := proxyDo(t, "GET", base+tc.path, tc.hdr)
					tc.check(t, st, body, r.up.take())
				})
			}
		})
	}
}

// TestProxyExpiredToken: a token past exp plus the leeway is refused; within
// the leeway it is accepted.
func TestProxyExpiredToken(t *testing.T) {
	r := newProxyRig(t)
	tok := r.mint(t, testenv.App, client.Evidence{})
	for _, tr := range proxytest.Listeners {
		t.Run(tr.Name, func(t *testing.T) {
			clock := &testenv.Clock{}
			p, err := proxy.New(proxy.Config{APIs: r.reg, Now: clock.Now, Leeway: 30 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			base := tr.Start(t, p)
			clock.Advance(300*time.Second + 20*time.Second) // past exp, within the leeway
			if st, _, b := proxyDo(t, "GET", base+"/v1/proxy/maps/x", map[string]string{"Attest-Token": tok}); st != 200 {
				t.Fatalf("within the leeway: %d %s", st, b)
			}
			clock.Advance(15 * time.Second) // past exp plus leeway
			r.up.take()
			st, _, b := proxyDo(t, "GET", base+"/v1/proxy/maps/x", map[string]string{"Attest-Token": tok})
			if st != 401 || proxyErrCode(t, b) != "token_invalid" || len(r.up.take()) != 0 {
				t.Fatalf("expired token: %d %s", st, b)
			}
		})
	}
}

// TestProxyLargeAnswerStreams: a 50 MiB answer arrives whole and intact
// while the process allocates a fraction of it (nothing buffers it whole).
func TestProxyLargeAnswerStreams(t *testing.T) {
	r := newProxyRig(t)
	tok := r.mint(t, testenv.App, client.Evidence{})
	want := sha256.New()
	chunk := bigChunk()
	for n := 0; n < bigSize; n += len(chunk) {
		want.Write(chunk)
	}
	for _, tr := range proxytest.Listeners {
		t.Run(tr.Name, func(t *testing.T) {
			base := tr.Start(t, r.proxy(t))
			req, _ := http.NewRequest("GET", base+"/v1/proxy/big/file", nil)
			req.Header.Set("Attest-Token", tok)
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			h := sha256.New()
			n, err := io.Copy(h, resp.Body)
			resp.Body.Close()
			runtime.ReadMemStats(&after)
			if err != nil || n != bigSize || !bytes.Equal(h.Sum(nil), want.Sum(nil)) {
				t.Fatalf("got %d bytes (%v), intact %v", n, err, bytes.Equal(h.Sum(nil), want.Sum(nil)))
			}
			alloc := after.TotalAlloc - before.TotalAlloc
			t.Logf("50 MiB proxied; %d KiB allocated by the whole process meanwhile", alloc>>10)
			if alloc > bigSize/4 {
				t.Fatalf("%d MiB allocated for a 50 MiB answer: it is being buffered", alloc>>20)
			}
		})
	}
}

// TestProxySecretChangeApplies: the proxy injects a rotated secret within
// 2 s of attestctl changing it, with no restart.
func TestProxySecretChangeApplies(t *testing.T) {
	r := newProxyRig(t)
	tok := r.mint(t, testenv.App, client.Evidence{})
	base := proxytest.ServeFasthttp(t, r.proxy(t))
	runCtl(t, r.store, "sk_rotated_proxy", "secret", "put", testenv.Account, testenv.SecretName)
	within(t, "the rotated secret", func() bool {
		r.up.take()
		proxyDo(t, "GET", base+"/v1/proxy/maps/x", map[string]string{"Attest-Token": tok})
		hits := r.up.take()
		return len(hits) == 1 && hits[0].header.Get("X-Api-Key") == "sk_rotated_proxy"
	})
}

// TestProxyThroughClientTransport: the quickstart path. The app's HTTP
// client uses client.Transport; it calls the proxy with no secret in hand;
// the token is attached, and the upstream gets the secret.
func TestProxyThroughClientTransport(t *testing.T) {
	r := newProxyRig(t)
	base := proxytest.ServeFasthttp(t, r.proxy(t))
	c := r.node.Client(t, r.f, testenv.App, nil)
	tr, err := client.NewTransport(client.TransportConfig{Client: c, TokenHosts: []string{strings.TrimPrefix(base, "http://")}, BindAuthorization: true})
	if err != nil {
		t.Fatal(err)
	}
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	for _, path := range []string{"/v1/proxy/maps/v1/x?q=1", "/v1/proxy/bound/me"} {
		req, _ := http.NewRequest("GET", base+path, nil)
		req.Header.Set("Authorization", "Bearer alice")
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		hits := r.up.take()
		if resp.StatusCode != 200 || len(hits) != 1 || hits[0].header.Get("X-Api-Key") != testenv.SecretValue {
			t.Fatalf("%s: %d %s", path, resp.StatusCode, b)
		}
	}
}
