package client_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/attestd/attestd/backend"
	"github.com/attestd/attestd/client"
	"github.com/attestd/attestd/crypto/secret"
	"github.com/attestd/attestd/crypto/token"
	"github.com/attestd/attestd/internal/ctl"
	"github.com/attestd/attestd/internal/state"
	"github.com/attestd/attestd/internal/testenv"
)

// pki is a test CA with leaf certificates for the hosts the TLS server
// answers as (api.test, other.test), all served from one loopback server.
type pki struct {
	ca       *x509.Certificate
	caKey    *ecdsa.PrivateKey
	leaf     tls.Certificate
	pool     *x509.CertPool
	caPEM    []byte
	leafPEM  []byte
	caPin    string
	leafPin  string
	otherPin string // of a key that signs nothing here
}

func pin(pub any) string {
	der, _ := x509.MarshalPKIXPublicKey(pub)
	s := sha256.Sum256(der)
	return base64.StdEncoding.EncodeToString(s[:])
}

func newPKI(t *testing.T) *pki {
	t.Helper()
	p := &pki{pool: x509.NewCertPool()}
	var err error
	p.caKey, _ = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true,
		BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &p.caKey.PublicKey, p.caKey)
	if err != nil {
		t.Fatal(err)
	}
	p.ca, _ = x509.ParseCertificate(der)
	p.pool.AddCert(p.ca)
	p.caPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	leafKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	lt := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "api.test"},
		DNSNames: []string{"api.test", "other.test"}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	lder, err := x509.CreateCertificate(rand.Reader, lt, p.ca, &leafKey.PublicKey, p.caKey)
	if err != nil {
		t.Fatal(err)
	}
	p.leaf = tls.Certificate{Certificate: [][]byte{lder}, PrivateKey: leafKey}
	p.leafPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: lder})
	p.caPin, p.leafPin = pin(&p.caKey.PublicKey), pin(&leafKey.PublicKey)
	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	p.otherPin = pin(&other.PublicKey)
	return p
}

// seen is what the TLS server received.
type seen struct {
	host, apiKey, query, token, auth string
}

type tlsServer struct {
	srv  *httptest.Server
	mu   sync.Mutex
	reqs []seen
}

func newTLSServer(t *testing.T, p *pki) *tlsServer {
	s := &tlsServer{}
	s.srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.reqs = append(s.reqs, seen{r.Host, r.Header.Get("X-Api-Key"), r.URL.Query().Get("key"), r.Header.Get("Attest-Token"), r.Header.Get("Authorization")})
		s.mu.Unlock()
		_, _ = io.WriteString(w, "ok")
	}))
	s.srv.TLS = &tls.Config{Certificates: []tls.Certificate{p.leaf}}
	s.srv.Config.ErrorLog = log.New(io.Discard, "", 0) // refused handshakes are the point
	s.srv.StartTLS()
	t.Cleanup(s.srv.Close)
	return s
}

func (s *tlsServer) take() []seen {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.reqs
	s.reqs = nil
	return r
}

// base is the app's own transport: it resolves the test host names to the
// loopback server and trusts the test CA.
func (s *tlsServer) base(p *pki) *http.Transport {
	addr := s.srv.Listener.Addr().String()
	d := &net.Dialer{Timeout: 5 * time.Second}
	return &http.Transport{
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return d.DialContext(ctx, network, addr)
		},
		TLSClientConfig:     &tls.Config{RootCAs: p.pool},
		TLSHandshakeTimeout: 5 * time.Second,
		ForceAttemptHTTP2:   true,
	}
}

type rig struct {
	f     *testenv.Fixture
	store *testenv.Store
	node  *testenv.Node
	pki   *pki
	srv   *tlsServer
}

// newRig: a real daemon whose account acme pins api.test to pins, and a TLS
// server for api.test and other.test.
func newRig(t *testing.T, pins []string) *rig {
	r := &rig{f: testenv.NewFixture(t), pki: newPKI(t)}
	if pins != nil {
		r.f.Bundle.Accounts[0].Pins["api.test"] = pins
	}
	r.store = testenv.NewStore(t, r.f)
	r.node = testenv.StartNode(t, r.store, testenv.Options{})
	r.srv = newTLSServer(t, r.pki)
	return r
}

func (r *rig) transport(t *testing.T, app string, cfg client.TransportConfig) (*client.Transport, *http.Client) {
	t.Helper()
	cfg.Client = r.node.Client(t, r.f, app, nil)
	cfg.Base = r.srv.base(r.pki)
	tr, err := client.NewTransport(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(tr.CloseIdleConnections)
	return tr, &http.Client{Transport: tr, Timeout: 10 * time.Second}
}

func get(t *testing.T, hc *http.Client, u string, hdr map[string]string) (string, error) {
	t.Helper()
	req, err := http.NewRequest("GET", u, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b), nil
}

func (r *rig) verifier(t *testing.T) *backend.Verifier {
	t.Helper()
	k, err := token.NewHMACKey(testenv.KIDHS, secret.New(r.f.HSKey))
	if err != nil {
		t.Fatal(err)
	}
	v, err := backend.New(backend.Config{Keys: []token.VerifyKey{k}, Audience: testenv.Account, Now: r.node.Clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestRoundTripperSecretsAndToken: placeholders in header and query values
// become the released secret for the hosts the secret is allowed for; the
// token goes to token hosts only, bound to the Authorization header when
// asked; an unknown placeholder, or one for another host, sends nothing.
func TestRoundTripperSecretsAndToken(t *testing.T) {
	r := newRig(t, nil)
	_, hc := r.transport(t, testenv.App, client.TransportConfig{TokenHosts: []string{"api.test"}, BindAuthorization: true,
		SecretHosts: map[string][]string{testenv.SecretName: {"api.test"}, "nope": {"api.test"}}})
	v := r.verifier(t)
	ph := client.Placeholder(testenv.SecretName)
	q := url.Values{"key": {ph}, "other": {"x y"}}.Encode() // URL-encoded placeholder

	body, err := get(t, hc, "https://api.test/v?"+q, map[string]string{"X-Api-Key": "Key " + ph, "Authorization": "Bearer alice"})
	if err != nil || body != "ok" {
		t.Fatalf("api.test: %q %v", body, err)
	}
	got := r.srv.take()
	if len(got) != 1 {
		t.Fatalf("%d requests", len(got))
	}
	if got[0].apiKey != "Key "+testenv.SecretValue || got[0].query != testenv.SecretValue {
		t.Error("placeholder not replaced in header or query")
	}
	if _, err := v.Verify(context.Background(), got[0].token, []byte("Bearer alice")); err != nil {
		t.Errorf("token attached to api.test does not verify bound to its Authorization: %v", err)
	}

	// Another Authorization value: a token bound to it.
	if _, err := get(t, hc, "https://api.test/v", map[string]string{"Authorization": "Bearer bob"}); err != nil {
		t.Fatal(err)
	}
	got = r.srv.take()
	if _, err := v.Verify(context.Background(), got[0].token, []byte("Bearer bob")); err != nil {
		t.Errorf("second binding: %v", err)
	}

	// Not a token host: no token.
	if _, err := get(t, hc, "https://other.test/v", nil); err != nil {
		t.Fatal(err)
	}
	got = r.srv.take()
	if got[0].token != "" || got[0].host != "other.test" {
		t.Errorf("other.test got %+v", got[0].host)
	}
	// Not a host of the secret: refused before sending, in a header or
	// in the query.
	for _, hdr := range []map[string]string{{"X-Api-Key": ph}, nil} {
		u := "https://other.test/v"
		if hdr == nil {
			u += "?" + q
		}
		if _, err := get(t, hc, u, hdr); !errors.Is(err, client.ErrSecretNotAllowed) {
			t.Fatalf("placeholder for other.test: %v", err)
		}
		if n := len(r.srv.take()); n != 0 {
			t.Fatalf("%d requests sent to a host the secret is not allowed for", n)
		}
	}

	// A secret not released to the app: refused before sending.
	_, err = get(t, hc, "https://api.test/v", map[string]string{"X-Api-Key": client.Placeholder("nope")})
	if !errors.Is(err, client.ErrSecretUnavailable) {
		t.Fatalf("unknown placeholder: %v", err)
	}
	if n := len(r.srv.take()); n != 0 {
		t.Fatalf("%d requests sent with an unknown placeholder", n)
	}
}

// TestRoundTripperFailedVerdictReleasesNothing: a rooted device gets a token
// (a decoy) and no secrets, so placeholders cannot be filled.
func TestRoundTripperFailedVerdictReleasesNothing(t *testing.T) {
	r := newRig(t, nil)
	_, hc := r.transport(t, testenv.App, client.TransportConfig{Integrity: client.Integrity{Rooted: true},
		SecretHosts: map[string][]string{testenv.SecretName: {"api.test"}}})
	_, err := get(t, hc, "https://api.test/v", map[string]string{"X-Api-Key": client.Placeholder(testenv.SecretName)})
	if !errors.Is(err, client.ErrSecretUnavailable) {
		t.Fatalf("got %v", err)
	}
}

// TestRoundTripperPins: a pinned host whose chain matches none of its pins is
// refused; after `attestctl pin add` (here the same mutation on the store),
// the next attestation brings the new pins and the host is reached; unpinned
// hosts verify normally throughout.
func TestRoundTripperPins(t *testing.T) {
	r := newRig(t, []string{r0pin(t), r0pin(t)}) // api.test pinned to keys nobody uses
	tr, hc := r.transport(t, testenv.App, client.TransportConfig{})
	if _, err := get(t, hc, "https://api.test/v", nil); !errors.Is(err, client.ErrPinMismatch) {
		t.Fatalf("pinned host with foreign pins: %v", err)
	}
	if n := len(r.srv.take()); n != 0 {
		t.Fatal("a request reached the server over a refused connection")
	}
	if got := tr.Pins()[testenv.PinHost]; len(got) != 2 {
		t.Fatalf("pins of %s not delivered: %v", testenv.PinHost, tr.Pins())
	}

	// The operator pins the test CA and the leaf (a backup pin).
	rev := r.store.Update(t, func(seal state.Sealer) state.Mutation {
		return state.AddPins(seal, testenv.Account, "api.test", []string{r.pki.caPin, r.pki.leafPin}, false)
	})
	r.node.AwaitRevision(t, rev, 5*time.Second)
	tr.Invalidate() // the next request attests again
	if _, err := get(t, hc, "https://api.test/v", nil); err != nil {
		t.Fatalf("after the pin update: %v", err)
	}

	// Now only the leaf is pinned, and the server presents another key:
	// refused again at the next attestation, with no restart of anything.
	r.store.Update(t, func(seal state.Sealer) state.Mutation {
		return state.RemovePin(seal, testenv.Account, "api.test", r.pki.caPin, true)
	})
	r.store.Update(t, func(seal state.Sealer) state.Mutation {
		return state.RemovePin(seal, testenv.Account, "api.test", r.pki.leafPin, true)
	})
	rev = r.store.Update(t, func(seal state.Sealer) state.Mutation {
		return state.AddPins(seal, testenv.Account, "api.test", []string{r.pki.otherPin}, true)
	})
	r.node.AwaitRevision(t, rev, 5*time.Second)
	tr.Invalidate()
	if _, err := get(t, hc, "https://api.test/v", nil); !errors.Is(err, client.ErrPinMismatch) {
		t.Fatalf("pins changed to a foreign key, still connecting: %v", err)
	}
}

// TestRoundTripperPinsWithOwnTLSDialer: a base transport that dials TLS
// itself is still held to the pins.
func TestRoundTripperPinsWithOwnTLSDialer(t *testing.T) {
	r := newRig(t, []string{r0pin(t), r0pin(t)})
	base := r.srv.base(r.pki)
	plain := base.DialContext
	base.DialTLSContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		raw, err := plain(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		host, _, _ := net.SplitHostPort(addr)
		return tls.Client(raw, &tls.Config{RootCAs: r.pki.pool, ServerName: host}), nil // not yet handshaken
	}
	tr, err := client.NewTransport(client.TransportConfig{Client: r.node.Client(t, r.f, testenv.App, nil), Base: base})
	if err != nil {
		t.Fatal(err)
	}
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	if _, err := get(t, hc, "https://api.test/v", nil); !errors.Is(err, client.ErrPinMismatch) {
		t.Fatalf("own dialer, foreign pins: %v", err)
	}
	if _, err := get(t, hc, "https://other.test/v", nil); err != nil {
		t.Fatalf("own dialer, unpinned host: %v", err)
	}
}

// TestRoundTripperPinsFromPEMFiles: pins computed by attestctl from PEM files
// match what the transport computes from the live chain.
func TestRoundTripperPinsFromPEMFiles(t *testing.T) {
	r := newRig(t, nil)
	dir := t.TempDir()
	ca := filepath.Join(dir, "ca.pem")
	leaf := filepath.Join(dir, "leaf.pem")
	if err := os.WriteFile(ca, r.pki.caPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(leaf, r.pki.leafPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	tr, hc := r.transport(t, testenv.App, client.TransportConfig{})
	if _, err := get(t, hc, "https://api.test/v", nil); err != nil {
		t.Fatalf("unpinned host: %v", err)
	}
	runCtl(t, r.store, "pin", "add", testenv.Account, "api.test", ca, leaf)
	r.node.AwaitRevision(t, r.store.Revision(t), 5*time.Second)
	tr.Invalidate()
	if _, err := get(t, hc, "https://api.test/v", nil); err != nil {
		t.Fatalf("pinned to its own CA and leaf: %v", err)
	}
	if len(tr.Pins()["api.test"]) != 2 {
		t.Fatalf("pins from attestctl not delivered: %v", tr.Pins())
	}
	want := map[string]bool{r.pki.caPin: true, r.pki.leafPin: true}
	for _, p := range tr.Pins()["api.test"] {
		if !want[p] {
			t.Errorf("attestctl pin %s is not the SPKI SHA-256 of either certificate", p)
		}
	}
}

// r0pin is a pin of a fresh key.
func r0pin(t *testing.T) string {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return pin(&k.PublicKey)
}

func runCtl(t *testing.T, s *testenv.Store, args ...string) {
	t.Helper()
	var out, errb bytes.Buffer
	if code := (ctl.Config{}).Main(context.Background(), append([]string{"--store", s.URL}, args...), strings.NewReader(""), &out, &errb); code != 0 {
		t.Fatalf("attestctl %v: exit %d: %s", args, code, errb.String())
	}
}
