package client_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/attestd/attestd/backend"
	"github.com/attestd/attestd/client"
	"github.com/attestd/attestd/crypto/httpsig"
	"github.com/attestd/attestd/internal/testenv"
)

// Request signatures (PROTOCOL.md §12) from the client's side: the
// Transport asks for a pop token and signs what carries it; a backend with
// package backend's middleware accepts exactly that, and nothing a thief
// can make from a copied token.

// signedAPI is a backend that requires signatures, on loopback, recording
// what it received.
type signedAPI struct {
	srv  *httptest.Server
	mu   sync.Mutex
	seen []*http.Request // clones, bodies read into seenBody
	body [][]byte
}

func newSignedAPI(t *testing.T, r *rig) *signedAPI {
	a := &signedAPI{}
	v := r.verifier(t)
	a.srv = httptest.NewServer(v.HTTP(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		b, _ := io.ReadAll(req.Body)
		a.mu.Lock()
		a.seen = append(a.seen, req.Clone(req.Context()))
		a.body = append(a.body, b)
		a.mu.Unlock()
		_, _ = w.Write(b)
	}), backend.WithRequestSignatures(backend.NewSignatures(backend.SignatureConfig{}))))
	t.Cleanup(a.srv.Close)
	return a
}

func (a *signedAPI) last() (*http.Request, []byte) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.seen) == 0 {
		return nil, nil
	}
	return a.seen[len(a.seen)-1], a.body[len(a.body)-1]
}

func (a *signedAPI) host() string { u, _ := url.Parse(a.srv.URL); return u.Host }

func do(t *testing.T, hc *http.Client, req *http.Request) (int, string) {
	t.Helper()
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func popTransport(t *testing.T, r *rig, api *signedAPI, cfg client.TransportConfig) (*client.Client, *http.Client) {
	t.Helper()
	cfg.Client = r.node.Client(t, r.f, testenv.App, nil)
	cfg.TokenHosts = []string{api.host()}
	cfg.ProofOfPossession = true
	tr, err := client.NewTransport(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(tr.CloseIdleConnections)
	return cfg.Client, &http.Client{Transport: tr, Timeout: 10 * time.Second}
}

func TestTransportSignsWithTheDeviceKey(t *testing.T) {
	r := newRig(t, nil)
	api := newSignedAPI(t, r)
	c, hc := popTransport(t, r, api, client.TransportConfig{})
	did := c.DID()

	t.Run("get-with-query", func(t *testing.T) {
		req, _ := http.NewRequest("GET", api.srv.URL+"/items?id=7&q=a%20b", nil)
		if code, body := do(t, hc, req); code != 200 {
			t.Fatalf("%d %s", code, body)
		}
		seen, _ := api.last()
		in := seen.Header.Get("Signature-Input")
		want := `att=("@method" "@authority" "@path" "@query" "attest-token");created=`
		if !strings.HasPrefix(in, want) || !strings.HasSuffix(in, `;keyid="`+did+`";alg="ecdsa-p256-sha256"`) {
			t.Fatalf("Signature-Input %q", in)
		}
		if seen.Header.Get("Content-Digest") != "" {
			t.Fatal("a request without a body has a Content-Digest")
		}
		sig := strings.TrimSuffix(strings.TrimPrefix(seen.Header.Get("Signature"), "att=:"), ":")
		if raw, err := base64.StdEncoding.DecodeString(sig); err != nil || len(raw) != 64 {
			t.Fatalf("Signature %q is not b64 of r‖s", seen.Header.Get("Signature"))
		}
	})
	t.Run("post-with-getbody", func(t *testing.T) {
		body := []byte(`{"amount":42}`)
		req, _ := http.NewRequest("POST", api.srv.URL+"/pay", bytes.NewReader(body))
		if code, got := do(t, hc, req); code != 200 || got != string(body) {
			t.Fatalf("%d %q", code, got)
		}
		seen, _ := api.last()
		if in := seen.Header.Get("Signature-Input"); !strings.HasPrefix(in, `att=("@method" "@authority" "@path" "attest-token" "content-digest");created=`) {
			t.Fatalf("Signature-Input %q", in)
		}
		if cd := seen.Header.Get("Content-Digest"); cd != string(httpsig.AppendContentDigest(nil, body)) {
			t.Fatalf("Content-Digest %q", cd)
		}
	})
	t.Run("post-stream-without-getbody", func(t *testing.T) {
		body := strings.Repeat("streamed body ", 1000)
		req, _ := http.NewRequest("POST", api.srv.URL+"/upload", io.NopCloser(strings.NewReader(body)))
		if req.GetBody != nil {
			t.Fatal("the test needs a request without GetBody")
		}
		if code, got := do(t, hc, req); code != 200 || got != body {
			t.Fatalf("%d, %d bytes back of %d", code, len(got), len(body))
		}
	})
	t.Run("created-from-the-injected-clock", func(t *testing.T) {
		skewed := r.node.Client(t, r.f, testenv.App, nil)
		tr, err := client.NewTransport(client.TransportConfig{Client: skewed, TokenHosts: []string{api.host()}, ProofOfPossession: true,
			Now: func() time.Time { return r.node.Clock.Now().Add(-2 * time.Minute) }})
		if err != nil {
			t.Fatal(err)
		}
		hc := &http.Client{Transport: tr, Timeout: 10 * time.Second}
		req, _ := http.NewRequest("GET", api.srv.URL+"/items", nil)
		code, body := do(t, hc, req)
		if code != 401 || !strings.Contains(body, "request_signature_invalid") {
			t.Fatalf("a signature two minutes old: %d %s", code, body)
		}
	})
}

// TestStolenPoPTokenIsUseless: what a thief can do with a token copied
// from a request (a log, a proxy, a compromised backend): send it without
// a signature, sign with their own key, or replay the whole request.
func TestStolenPoPTokenIsUseless(t *testing.T) {
	r := newRig(t, nil)
	api := newSignedAPI(t, r)
	_, hc := popTransport(t, r, api, client.TransportConfig{})
	body := []byte(`{"to":"alice"}`)
	req, _ := http.NewRequest("POST", api.srv.URL+"/transfer", bytes.NewReader(body))
	if code, _ := do(t, hc, req); code != 200 {
		t.Fatalf("genuine: %d", code)
	}
	seen, _ := api.last()
	stolen := seen.Header.Get("Attest-Token")
	plain := &http.Client{Timeout: 10 * time.Second}
	refused := func(t *testing.T, req *http.Request) {
		t.Helper()
		code, got := do(t, plain, req)
		if code != 401 || !strings.Contains(got, "request_signature_invalid") {
			t.Fatalf("%d %s", code, got)
		}
	}
	t.Run("unsigned", func(t *testing.T) {
		req, _ := http.NewRequest("POST", api.srv.URL+"/transfer", bytes.NewReader(body))
		req.Header.Set("Attest-Token", stolen)
		refused(t, req)
	})
	t.Run("signed-by-the-thief", func(t *testing.T) {
		thief, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		req, _ := http.NewRequest("POST", api.srv.URL+"/transfer", bytes.NewReader([]byte(`{"to":"mallory"}`)))
		req.Header.Set("Attest-Token", stolen)
		if err := client.SignRequest(req, thief, r.node.Clock.Now(), 0); err != nil {
			t.Fatal(err)
		}
		refused(t, req)
	})
	t.Run("replayed-whole", func(t *testing.T) {
		req, _ := http.NewRequest("POST", api.srv.URL+"/transfer", bytes.NewReader(body))
		for _, h := range []string{"Attest-Token", "Signature-Input", "Signature", "Content-Digest"} {
			req.Header[h] = seen.Header[h]
		}
		refused(t, req)
	})
	t.Run("replayed-with-another-body", func(t *testing.T) {
		req, _ := http.NewRequest("POST", api.srv.URL+"/transfer", bytes.NewReader([]byte(`{"to":"mallory"}`)))
		for _, h := range []string{"Attest-Token", "Signature-Input", "Signature", "Content-Digest"} {
			req.Header[h] = seen.Header[h]
		}
		refused(t, req)
	})
}

// TestSignRequestKeepsTheBodyReadable: after signing, the body is still
// all there, with GetBody or without; a body over the limit is refused
// before anything is sent.
func TestSignRequestKeepsTheBodyReadable(t *testing.T) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	now := time.Unix(1_760_000_000, 0)
	body := "a body the server must get whole"
	for name, mk := range map[string]func() *http.Request{
		"getbody": func() *http.Request {
			req, _ := http.NewRequest("PUT", "https://api.example.com/x", strings.NewReader(body))
			return req
		},
		"stream": func() *http.Request {
			req, _ := http.NewRequest("PUT", "https://api.example.com/x", io.NopCloser(strings.NewReader(body)))
			return req
		},
	} {
		t.Run(name, func(t *testing.T) {
			req := mk()
			req.Header.Set("Attest-Token", "tok")
			if err := client.SignRequest(req, key, now, 0); err != nil {
				t.Fatal(err)
			}
			if b, _ := io.ReadAll(req.Body); string(b) != body {
				t.Fatalf("Body after signing: %q", b)
			}
			if req.GetBody == nil {
				t.Fatal("no GetBody after signing")
			}
			again, _ := req.GetBody()
			if b, _ := io.ReadAll(again); string(b) != body {
				t.Fatalf("GetBody after signing: %q", b)
			}
			if req.ContentLength != int64(len(body)) {
				t.Fatalf("ContentLength %d", req.ContentLength)
			}
			pt, _ := key.PublicKey.Bytes()
			want := `att=("@method" "@authority" "@path" "attest-token" "content-digest");created=` + strconv.FormatInt(now.Unix(), 10) +
				`;keyid="` + string(httpsig.DID(nil, pt)) + `";alg="ecdsa-p256-sha256"`
			if got := req.Header.Get("Signature-Input"); got != want {
				t.Fatalf("Signature-Input\n%s\nwant\n%s", got, want)
			}
		})
	}
	t.Run("over-the-limit", func(t *testing.T) {
		req, _ := http.NewRequest("PUT", "https://api.example.com/x", io.NopCloser(strings.NewReader(body)))
		if err := client.SignRequest(req, key, now, 8); !errors.Is(err, client.ErrBodyTooLarge) {
			t.Fatalf("%v, want ErrBodyTooLarge", err)
		}
	})
}
