package proxy

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/attestd/attestd/crypto/secret"
	"github.com/attestd/attestd/crypto/token"
	"github.com/attestd/attestd/internal/proxytest"
	"github.com/attestd/attestd/internal/registry"
)

const (
	testAccount = "acme"
	testSecret  = "sk_unit_secret_7d1e"
)

// memAPIs is an in-memory APIs lookup.
type memAPIs struct {
	apis  map[string]*registry.API
	accts map[string]*registry.Account
}

func (m *memAPIs) API(name string) (*registry.API, *registry.Account, bool, error) {
	a, ok := m.apis[name]
	if !ok {
		return nil, nil, false, nil
	}
	return a, m.accts[a.Account], true, nil
}

// world is a proxy over an in-memory registry with one HS256 account.
type world struct {
	t      *testing.T
	signer *token.Signer
	apis   *memAPIs
	up     *proxytest.Upstream
	now    time.Time
	logs   *bytes.Buffer
	cfg    Config
}

func newWorld(t *testing.T) *world {
	t.Helper()
	s, err := token.NewSigner("k1", token.HS256, secret.FromString("0123456789abcdef0123456789abcdef"))
	if err != nil {
		t.Fatal(err)
	}
	ks, err := token.NewKeySet(s.Verifier())
	if err != nil {
		t.Fatal(err)
	}
	w := &world{t: t, signer: s, up: proxytest.NewUpstream(t, nil), now: time.Unix(1_800_000_000, 0), logs: &bytes.Buffer{}}
	w.apis = &memAPIs{
		accts: map[string]*registry.Account{testAccount: {ID: testAccount, Keys: ks}},
		apis: map[string]*registry.API{
			"hdr":   {Name: "hdr", Account: testAccount, Upstream: w.up.URL + "/rec", Header: "X-Api-Key", Secret: secret.FromString(testSecret)},
			"qry":   {Name: "qry", Account: testAccount, Upstream: w.up.URL + "/rec?v=1", Query: "key", Secret: secret.FromString(testSecret)},
			"any":   {Name: "any", Account: testAccount, Upstream: w.up.URL, Header: "X-Api-Key", Secret: secret.FromString(testSecret)},
			"bound": {Name: "bound", Account: testAccount, Upstream: w.up.URL + "/rec", RequireBinding: true, Header: "X-Api-Key", Secret: secret.FromString(testSecret)},
			"down":  {Name: "down", Account: testAccount, Upstream: "http://" + proxytest.ClosedAddr(t) + "/x", Query: "key", Secret: secret.FromString(testSecret)},
		},
	}
	w.cfg = Config{APIs: w.apis, Now: func() time.Time { return w.now },
		Log: slog.New(slog.NewTextHandler(&lockedBuf{b: w.logs}, &slog.HandlerOptions{Level: slog.LevelDebug}))}
	return w
}

type lockedBuf struct {
	mu sync.Mutex
	b  *bytes.Buffer
}

func (l *lockedBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (w *world) token(c token.Claims) string {
	w.t.Helper()
	if c.Issuer == "" {
		c.Issuer = "attestd"
	}
	if c.Audience == "" {
		c.Audience = testAccount
	}
	if c.ExpiresAt == 0 {
		c.IssuedAt, c.ExpiresAt = w.now.Unix(), w.now.Unix()+300
	}
	tok, err := w.signer.AppendMint(nil, &c)
	if err != nil {
		w.t.Fatal(err)
	}
	return string(tok)
}

// answer is a proxied answer, read whole.
type answer struct {
	status int
	header http.Header
	body   []byte
}

func send(t *testing.T, method, url string, hdr map[string]string, body io.Reader) answer {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		if k == "Host" {
			req.Host = v
			continue
		}
		req.Header.Set(k, v)
	}
	hc := &http.Client{Transport: &http.Transport{DisableCompression: true},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	defer hc.CloseIdleConnections()
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatal(err)
	}
	return answer{resp.StatusCode, resp.Header, b}
}

func (a answer) code(t *testing.T) string {
	t.Helper()
	if ct := a.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("error answer Content-Type %q", ct)
	}
	var e struct{ Error, Message string }
	if err := json.Unmarshal(a.body, &e); err != nil || e.Message == "" {
		t.Fatalf("error body %q: %v", a.body, err)
	}
	return e.Error
}
