package client_test

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/attestd/attestd/client"
	"github.com/attestd/attestd/internal/state"
	"github.com/attestd/attestd/internal/testenv"
)

// recorder is a loopback server that keeps every request it gets, whole.
type recorder struct {
	srv  *httptest.Server
	mu   sync.Mutex
	reqs []string // method, URL, headers: everything that could carry a secret
}

func newRecorder(t *testing.T) *recorder {
	r := &recorder{}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		b, _ := io.ReadAll(req.Body)
		var sb strings.Builder
		sb.WriteString(req.Method + " " + req.RequestURI + "\n")
		_ = req.Header.Write(&sb)
		sb.Write(b)
		r.mu.Lock()
		r.reqs = append(r.reqs, sb.String())
		r.mu.Unlock()
		_, _ = io.WriteString(w, "landed")
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *recorder) all() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.reqs...)
}

// hostDialer dials name (host:port) to addr and anything else as asked:
// the test host names resolve to loopback servers, the rest is loopback.
func hostDialer(names map[string]string) func(ctx context.Context, network, addr string) (net.Conn, error) {
	d := &net.Dialer{Timeout: 5 * time.Second}
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		if to, ok := names[addr]; ok {
			addr = to
		}
		return d.DialContext(ctx, network, addr)
	}
}

// TestTransportOpenRedirectDoesNotCarrySecret: api.test, the host the
// secret is for, redirects (an open redirect, and one that echoes the
// query it got) to another loopback server; a real http.Client follows
// redirects. The other server never sees the secret: the redirected
// request with a placeholder fails, the echoing Location is removed from
// the answer (so it is not followed), and a placeholder sent straight to
// the other host fails too.
func TestTransportOpenRedirectDoesNotCarrySecret(t *testing.T) {
	r := newRig(t, nil)
	other := newRecorder(t)
	var mu sync.Mutex
	var atAPI []string // X-Api-Key values api.test got
	api := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		mu.Lock()
		atAPI = append(atAPI, req.Header.Get("X-Api-Key")+req.URL.Query().Get("key"))
		mu.Unlock()
		switch req.URL.Path {
		case "/open":
			http.Redirect(w, req, req.URL.Query().Get("to"), http.StatusFound)
		case "/echo":
			http.Redirect(w, req, other.srv.URL+"/landing?"+req.URL.RawQuery, http.StatusFound)
		}
	}))
	api.TLS = &tls.Config{Certificates: []tls.Certificate{r.pki.leaf}}
	api.Config.ErrorLog = log.New(io.Discard, "", 0)
	api.StartTLS()
	t.Cleanup(api.Close)

	base := &http.Transport{DialContext: hostDialer(map[string]string{"api.test:443": api.Listener.Addr().String()}),
		TLSClientConfig: &tls.Config{RootCAs: r.pki.pool}, ForceAttemptHTTP2: true}
	tr, err := client.NewTransport(client.TransportConfig{Client: r.node.Client(t, r.f, testenv.App, nil), Base: base,
		SecretHosts: map[string][]string{testenv.SecretName: {"api.test"}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(tr.CloseIdleConnections)
	hc := &http.Client{Transport: tr, Timeout: 10 * time.Second} // follows up to 10 redirects
	ph := client.Placeholder(testenv.SecretName)
	landing := other.srv.URL + "/landing"

	// An open redirect; the http.Client copies X-Api-Key to the next hop.
	_, err = get(t, hc, "https://api.test/open?to="+url.QueryEscape(landing), map[string]string{"X-Api-Key": ph})
	if !errors.Is(err, client.ErrSecretNotAllowed) {
		t.Errorf("open redirect with a header placeholder: %v, want ErrSecretNotAllowed", err)
	}
	// A redirect that echoes the query, secret included.
	req, _ := http.NewRequest("GET", "https://api.test/echo?q=1&key="+url.QueryEscape(ph), nil)
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatalf("echoing redirect: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != "" {
		t.Errorf("echoing redirect: %d, Location %q; want the 302 without its Location", resp.StatusCode, resp.Header.Get("Location"))
	}
	// Straight to the other host.
	if _, err := get(t, hc, landing+"?key="+url.QueryEscape(ph), map[string]string{"X-Api-Key": ph}); !errors.Is(err, client.ErrSecretNotAllowed) {
		t.Errorf("placeholder for the other host: %v, want ErrSecretNotAllowed", err)
	}

	mu.Lock()
	defer mu.Unlock()
	if len(atAPI) != 2 || atAPI[0] != testenv.SecretValue || atAPI[1] != testenv.SecretValue {
		t.Fatalf("api.test did not get the secret (the test proves nothing): %q", atAPI)
	}
	for _, got := range other.all() {
		for _, form := range []string{testenv.SecretValue, url.QueryEscape(testenv.SecretValue)} {
			if strings.Contains(got, form) {
				t.Errorf("the other server got the secret:\n%s", got)
			}
		}
	}
}

// TestTransportFillsSecretsOnlyForPinnedHosts: without SecretHosts, a
// secret is filled in only in https requests to a host the attestation
// pins; plain http to that host, and any other host, fail before sending.
func TestTransportFillsSecretsOnlyForPinnedHosts(t *testing.T) {
	r := newRig(t, nil)
	rev := r.store.Update(t, func(seal state.Sealer) state.Mutation {
		return state.AddPins(seal, testenv.Account, "api.test", []string{r.pki.caPin, r.pki.leafPin}, false)
	})
	r.node.AwaitRevision(t, rev, 5*time.Second)
	plain := newRecorder(t)
	base := r.srv.base(r.pki)
	base.DialContext = hostDialer(map[string]string{"api.test:443": r.srv.srv.Listener.Addr().String(),
		"other.test:443": r.srv.srv.Listener.Addr().String(), "api.test:80": plain.srv.Listener.Addr().String()})
	tr, err := client.NewTransport(client.TransportConfig{Client: r.node.Client(t, r.f, testenv.App, nil), Base: base})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(tr.CloseIdleConnections)
	hc := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	hdr := map[string]string{"X-Api-Key": client.Placeholder(testenv.SecretName)}
	if _, err := get(t, hc, "https://other.test/v", nil); err != nil { // attests
		t.Fatal(err)
	}
	if len(tr.Pins()["api.test"]) == 0 {
		t.Fatal("pins for api.test not delivered by a node serving them")
	}
	r.srv.take()
	if _, err := get(t, hc, "https://api.test/v", hdr); err != nil {
		t.Fatalf("pinned host: %v", err)
	}
	if got := r.srv.take(); len(got) != 1 || got[0].apiKey != testenv.SecretValue {
		t.Fatalf("pinned host got %+v", got)
	}
	for _, u := range []string{"https://other.test/v", "http://api.test/v"} {
		if _, err := get(t, hc, u, hdr); !errors.Is(err, client.ErrSecretNotAllowed) {
			t.Errorf("%s: %v, want ErrSecretNotAllowed", u, err)
		}
	}
	if n := len(r.srv.take()) + len(plain.all()); n != 0 {
		t.Fatalf("%d requests sent with a placeholder for a host not allowed", n)
	}
}

// TestTransportSecretHostsConfig: entries that are not a host, host:port
// or an http(s) origin (a wildcard, say) are refused when the Transport is
// made.
func TestTransportSecretHostsConfig(t *testing.T) {
	f := testenv.NewFixture(t)
	c, err := client.New(client.Config{BaseURL: "http://127.0.0.1:1", App: f.ClientApp(testenv.App)})
	if err != nil {
		t.Fatal(err)
	}
	good := map[string][]string{"k": {"api.test", "api.test:8443", "https://api.test", "http://127.0.0.1:8080", "[::1]:443"}, "none": {}}
	if _, err := client.NewTransport(client.TransportConfig{Client: c, SecretHosts: good}); err != nil {
		t.Errorf("SecretHosts %q refused: %v", good, err)
	}
	for _, bad := range [][]string{{""}, {"*.example.com"}, {"ftp://x"}, {"https://x/path"}, {"https://u@x"}, {"a b"}} {
		if _, err := client.NewTransport(client.TransportConfig{Client: c, SecretHosts: map[string][]string{"k": bad}}); err == nil {
			t.Errorf("SecretHosts %q accepted", bad)
		}
	}
}
