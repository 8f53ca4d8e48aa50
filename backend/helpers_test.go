package backend

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/attestd/attestd/crypto/secret"
	"github.com/attestd/attestd/crypto/token"
)

// clock is a settable clock for Config.Now.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Unix(1_760_000_000, 0)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func hsSigner(t testing.TB, kid string) *token.Signer {
	t.Helper()
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	s, err := token.NewSigner(kid, token.HS256, secret.New(key))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func esSigner(t testing.TB, kid string) *token.Signer {
	t.Helper()
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der, _ := x509.MarshalPKCS8PrivateKey(k)
	s, err := token.NewSigner(kid, token.ES256, secret.New(der))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// claimsAt are claims as the edge mints them for account acme at now.
func claimsAt(now time.Time) token.Claims {
	return token.Claims{Issuer: "attestd", Subject: "com.example.shop", Audience: "acme",
		IssuedAt: now.Unix(), ExpiresAt: now.Unix() + 300, ID: "jti-1", Device: "did-1"}
}

func mint(t testing.TB, s *token.Signer, c token.Claims) string {
	t.Helper()
	tok, err := s.AppendMint(nil, &c)
	if err != nil {
		t.Fatal(err)
	}
	return string(tok)
}

func newVerifier(t testing.TB, cfg Config) *Verifier {
	t.Helper()
	v, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// jwksServer is an edge's JWKS endpoint on loopback that counts fetches.
type jwksServer struct {
	*httptest.Server
	fetches atomic.Int32

	mu           sync.Mutex
	keys         []token.VerifyKey
	cacheControl string
	status       int
	hold         chan struct{} // when set, each fetch waits for it to close
	delay        time.Duration
}

func newJWKSServer(t testing.TB, keys ...token.VerifyKey) *jwksServer {
	t.Helper()
	s := &jwksServer{keys: keys, status: http.StatusOK}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	return s
}

func (s *jwksServer) serve(w http.ResponseWriter, r *http.Request) {
	s.fetches.Add(1)
	s.mu.Lock()
	keys, cc, status, hold, delay := s.keys, s.cacheControl, s.status, s.hold, s.delay
	s.mu.Unlock()
	if hold != nil {
		select {
		case <-hold:
		case <-r.Context().Done():
			return
		}
	}
	if delay > 0 {
		select {
		case <-time.After(delay):
		case <-r.Context().Done():
			return
		}
	}
	if cc != "" {
		w.Header().Set("Cache-Control", cc)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(token.AppendJWKS(nil, keys))
}

func (s *jwksServer) set(f func(s *jwksServer)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f(s)
}

func (s *jwksServer) url() string { return s.URL + "/v1/accounts/acme/jwks.json" }

func pub(t testing.TB, s *token.Signer) token.VerifyKey {
	t.Helper()
	k, ok := s.PublicKey()
	if !ok {
		t.Fatal("no public key")
	}
	return k
}
