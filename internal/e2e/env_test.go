package e2e

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/attestd/attestd/client"
	"github.com/attestd/attestd/internal/testenv"
)

// Transport is how the table reaches a node.
type Transport struct {
	Name string
	HTTP *http.Client
	// Base overrides the node's base URL (e.g. https for HTTP/3).
	Base func(n *testenv.Node) string
}

// answer is a raw HTTP answer.
type answer struct {
	status int
	header http.Header
	body   []byte
}

func (a answer) errorCode(t *testing.T) string {
	t.Helper()
	var e struct{ Error, Message string }
	if err := json.Unmarshal(a.body, &e); err != nil {
		t.Fatalf("error body %q is not JSON: %v", a.body, err)
	}
	if e.Message == "" {
		t.Errorf("error body %q has no message", a.body)
	}
	return e.Error
}

type env struct {
	t    *testing.T
	f    *testenv.Fixture
	node *testenv.Node
	tr   Transport
}

func (e *env) base() string {
	if e.tr.Base != nil {
		return e.tr.Base(e.node)
	}
	return e.node.Base
}

func (e *env) do(method, path, contentType string, body []byte, hdr map[string]string) answer {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, e.base()+path, bytes.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := e.tr.HTTP.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		e.t.Errorf("%s %s: Content-Type %q", method, path, ct)
	}
	return answer{status: resp.StatusCode, header: resp.Header, body: b}
}

func (e *env) client(app string) *client.Client {
	e.t.Helper()
	c, err := client.New(client.Config{BaseURL: e.base(), App: e.f.ClientApp(app), HTTP: e.tr.HTTP, Now: e.node.Clock.Now})
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}

// attest signs body with c's key and posts it.
func (e *env) attest(c *client.Client, body []byte) answer {
	e.t.Helper()
	sig, err := c.Sign(body)
	if err != nil {
		e.t.Fatal(err)
	}
	return e.do("POST", "/v1/attest", "application/json", body, map[string]string{"Attest-Signature": sig})
}

func (e *env) nonce(c *client.Client) string {
	e.t.Helper()
	n, _, err := c.Challenge(context.Background())
	if err != nil {
		e.t.Fatal(err)
	}
	return n
}

func (e *env) body(c *client.Client, nonce string, ev client.Evidence) []byte {
	e.t.Helper()
	b, err := c.Body(nonce, ev)
	if err != nil {
		e.t.Fatal(err)
	}
	return b
}

// edited is body with edit applied to its decoded JSON object: how tests
// make the malformed and forged bodies that no SDK sends.
func edited(t testing.TB, body []byte, edit func(map[string]any)) []byte {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatal(err)
	}
	edit(m)
	out, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// verdict is a decoded 200 attest answer.
type verdict struct {
	Token               string              `json:"token"`
	ExpiresAt           int64               `json:"expires_at"`
	Secrets             string              `json:"secrets"`
	Pins                map[string][]string `json:"pins"`
	Receipt             string              `json:"receipt"`
	PlatformAttestation string              `json:"platform_attestation"`
	raw                 map[string]json.RawMessage
}

func decodeVerdict(t *testing.T, a answer) verdict {
	t.Helper()
	if a.status != 200 {
		t.Fatalf("status %d, body %s", a.status, a.body)
	}
	var v verdict
	if err := json.Unmarshal(a.body, &v); err != nil {
		t.Fatal(err)
	}
	json.Unmarshal(a.body, &v.raw)
	return v
}

// claims are the token claims as an independent library reads them.
type claims struct {
	jwt.RegisteredClaims
	DID string  `json:"did"`
	Pay *string `json:"pay"`
	Arc *string `json:"arc"`
}

// verifyHS checks tok with golang-jwt, algorithm pinned to HS256.
func verifyHS(tok string, key []byte, aud string) (*claims, error) {
	var c claims
	_, err := jwt.ParseWithClaims(tok, &c, func(*jwt.Token) (any, error) { return key, nil },
		jwt.WithValidMethods([]string{"HS256"}), jwt.WithAudience(aud), jwt.WithIssuer("attestd"), jwt.WithExpirationRequired())
	return &c, err
}

// header decodes a token's header without verifying it.
func header(t *testing.T, tok string) map[string]any {
	t.Helper()
	h, _, _ := strings.Cut(tok, ".")
	b, err := base64.RawURLEncoding.DecodeString(h)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// unverifiedClaims reads claims without checking the signature.
func unverifiedClaims(t *testing.T, tok string) *claims {
	t.Helper()
	var c claims
	if _, _, err := jwt.NewParser().ParseUnverified(tok, &c); err != nil {
		t.Fatal(err)
	}
	return &c
}

func mustKey(t *testing.T, curve elliptic.Curve) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(curve, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func spkiB64u(t *testing.T, pub any) string {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return base64.RawURLEncoding.EncodeToString(der)
}
