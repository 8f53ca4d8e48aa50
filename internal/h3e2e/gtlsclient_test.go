package h3e2e

import (
	"context"
	"crypto/ecdsa"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/golang-jwt/jwt/v5"

	"github.com/attestd/attestd/client"
	"github.com/attestd/attestd/internal/testenv"
	"github.com/attestd/attestd/internal/testenv/h3test"
)

// gtls runs Debian's ngtcp2 example client, gtlsclient (GnuTLS, ngtcp2,
// nghttp3: no quic-go), against one node's HTTP/3 listener.
type gtls struct {
	bin, host, port, base string
	// shim is the LD_PRELOAD library built from testdata/h3headers.c
	// ("" until buildShim), which lets a request carry header fields.
	shim string
}

// gtlsResponse is one answer as gtlsclient printed and saved it.
type gtlsResponse struct {
	Status int
	Header http.Header
	Body   []byte
	Out    string // everything gtlsclient printed
}

// respHeaderLine is how gtlsclient prints a received header field:
// "http: stream 0x0 [:status: 200]". The request's own fields are printed
// as bare "[name: value]" lines, which this does not match.
var respHeaderLine = regexp.MustCompile(`(?m)^http: stream 0x[0-9a-f]+ \[(:?[^:\]]+): (.*)\]\r?$`)

// do sends one request for path and returns the answer: the status and
// header fields from gtlsclient's debug output, the body from the file
// --download saved. headers, "name: value" each, are added to the request
// by the shim (buildShim must have run); extra are more gtlsclient flags.
func (g *gtls) do(t *testing.T, path string, headers []string, extra ...string) gtlsResponse {
	t.Helper()
	dir := t.TempDir()
	args := append([]string{"--exit-on-all-streams-close", "--no-quic-dump", "--timeout=5s",
		"--handshake-timeout=5s", "--download=" + dir}, extra...)
	args = append(args, g.host, g.port, g.base+path)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, g.bin, args...)
	if len(headers) > 0 {
		if g.shim == "" {
			t.Fatal("gtls.do: request headers without the shim")
		}
		cmd.Env = append(os.Environ(), "LD_PRELOAD="+g.shim,
			"ATTESTD_H3_EXTRA_HEADERS="+strings.Join(headers, "\n"))
	}
	b, err := cmd.CombinedOutput()
	out := string(b)
	if err != nil {
		t.Fatalf("gtlsclient %s: %v\n%s", path, err, out)
	}
	for _, h := range headers {
		name, _, _ := strings.Cut(h, ":")
		if want := "h3headers: added " + strings.ToLower(strings.TrimSpace(name)); !strings.Contains(out, want) {
			t.Fatalf("gtlsclient %s: the shim did not say %q; output:\n%s", path, want, out)
		}
	}
	r := gtlsResponse{Header: http.Header{}, Out: out}
	for _, m := range respHeaderLine.FindAllStringSubmatch(out, -1) {
		if m[1] == ":status" {
			if r.Status != 0 {
				t.Fatalf("gtlsclient %s: two :status fields; output:\n%s", path, out)
			}
			if r.Status, err = strconv.Atoi(m[2]); err != nil {
				t.Fatalf("gtlsclient %s: :status %q", path, m[2])
			}
			continue
		}
		r.Header.Add(m[1], m[2])
	}
	if r.Status == 0 {
		t.Fatalf("gtlsclient %s: no :status in the output:\n%s", path, out)
	}
	files, _ := os.ReadDir(dir)
	if len(files) != 1 {
		t.Fatalf("gtlsclient %s: saved %d files; output:\n%s", path, len(files), out)
	}
	if r.Body, err = os.ReadFile(filepath.Join(dir, files[0].Name())); err != nil {
		t.Fatal(err)
	}
	return r
}

// buildShim compiles testdata/h3headers.c with gcc into a temporary
// directory; without gcc the test is skipped (go test -race needs a C
// compiler anyway, so CI has one).
func (g *gtls) buildShim(t *testing.T) {
	t.Helper()
	gcc, err := exec.LookPath("gcc")
	if err != nil {
		t.Skip("gcc not installed: cannot build the LD_PRELOAD shim testdata/h3headers.c that adds request headers to gtlsclient, so no attest with headers over gtlsclient")
	}
	src, err := filepath.Abs(filepath.Join("testdata", "h3headers.c"))
	if err != nil {
		t.Fatal(err)
	}
	so := filepath.Join(t.TempDir(), "h3headers.so")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if out, err := exec.CommandContext(ctx, gcc, "-shared", "-fPIC", "-Wall", "-Wextra", "-Werror",
		"-o", so, src, "-ldl").CombinedOutput(); err != nil {
		t.Fatalf("gcc %s: %v\n%s", src, err, out)
	}
	g.shim = so
}

func needBinary(t *testing.T, name, pkg string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err == nil {
		return p
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("%s is missing in CI: scripts/test.sh installs the Debian package %s", name, pkg)
	}
	t.Skipf("%s not installed (apt-get install %s)", name, pkg)
	return ""
}

// wantError checks that r is the protocol's error answer code with status.
func wantError(t *testing.T, what string, r gtlsResponse, status int, code string) {
	t.Helper()
	var e struct{ Error, Message string }
	if err := json.Unmarshal(r.Body, &e); err != nil || r.Status != status || e.Error != code {
		t.Fatalf("%s over gtlsclient: %d %q (%v), want %d %s\n%s", what, r.Status, r.Body, err, status, code, r.Out)
	}
}

// TestGtlsclientHTTP3 attests over HTTP/3 with a client that shares no
// code with quic-go: Debian's gtlsclient (package ngtcp2-client, which
// scripts/test.sh installs; in CI its absence fails the test, elsewhere
// it skips).
//
// gtlsclient can set the method and send a file as the body, but has no
// option for request header fields, and an attest needs Content-Type and
// Attest-Signature (PROTOCOL.md §2). testdata/h3headers.c, compiled here
// with gcc and loaded with LD_PRELOAD, wraps libnghttp3's
// nghttp3_conn_submit_request to append the fields listed in
// ATTESTD_H3_EXTRA_HEADERS; everything else (QUIC, TLS, QPACK, framing)
// is gtlsclient's and libnghttp3's own. Status and header fields are read
// from gtlsclient's debug output, the body from its --download file.
//
// Over gtlsclient alone: a nonce (POST /v1/challenge), the account's JWKS,
// and an attest without the header fields, answered 415. Through the
// shim (skipped without gcc), all with the nonce gtlsclient fetched: a
// body signed over other bytes is refused signature_invalid; the same
// body correctly signed passes, with an ES256 token that verifies with
// golang-jwt against the key gtlsclient fetched from the JWKS, which is
// the account's; sending it again is nonce_replayed (so the refused
// request had not used the nonce up); and a body reporting a hooked app
// gets a token that does not verify.
func TestGtlsclientHTTP3(t *testing.T) {
	bin := needBinary(t, "gtlsclient", "ngtcp2-client")
	f := testenv.NewFixture(t)
	c := h3test.NewCert(t, t.TempDir(), "node")
	node := testenv.StartNode(t, testenv.NewStore(t, f), h3test.TLSOptions(c, testenv.Options{}))
	host, port, _ := strings.Cut(node.D.HTTP3Addr().String(), ":")
	g := &gtls{bin: bin, host: host, port: port, base: h3test.H3Base(node)}

	challenge := func(t *testing.T) string {
		t.Helper()
		r := g.do(t, "/v1/challenge", nil, "--http-method=POST")
		var ch struct {
			Nonce     string `json:"nonce"`
			ExpiresAt int64  `json:"expires_at"`
		}
		if err := json.Unmarshal(r.Body, &ch); err != nil || r.Status != 200 || ch.Nonce == "" || ch.ExpiresAt == 0 {
			t.Fatalf("challenge over gtlsclient: %d %q (%v)\n%s", r.Status, r.Body, err, r.Out)
		}
		return ch.Nonce
	}
	nonce := challenge(t)

	r := g.do(t, "/v1/accounts/"+testenv.AccountES+"/jwks.json", nil)
	var jwks jose.JSONWebKeySet
	if err := json.Unmarshal(r.Body, &jwks); err != nil || r.Status != 200 || len(jwks.Keys) == 0 {
		t.Fatalf("jwks over gtlsclient: %d %q (%v)", r.Status, r.Body, err)
	}
	if !strings.Contains(r.Header.Get("Cache-Control"), "max-age=") {
		t.Errorf("jwks over gtlsclient: Cache-Control %q", r.Header.Get("Cache-Control"))
	}
	keys := jwks.Key(testenv.KIDES)
	if len(keys) != 1 {
		t.Fatalf("jwks over gtlsclient has %d keys of kid %s: %s", len(keys), testenv.KIDES, r.Body)
	}
	if pub, ok := keys[0].Key.(*ecdsa.PublicKey); !ok || !pub.Equal(&f.ESKey.PublicKey) {
		t.Fatalf("jwks over gtlsclient: key %s is not the account's (%T)", testenv.KIDES, keys[0].Key)
	}

	// Bodies are built and signed by the Go client, with the nonces
	// gtlsclient fetched, and sent by gtlsclient byte for byte (--data).
	cl, err := client.New(client.Config{BaseURL: g.base, App: f.ClientApp(testenv.AppES), Now: node.Clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	bodyFile := func(t *testing.T, nonce string, ev client.Evidence) (file, sig string) {
		t.Helper()
		b, err := cl.Body(nonce, ev)
		if err != nil {
			t.Fatal(err)
		}
		if sig, err = cl.Sign(b); err != nil {
			t.Fatal(err)
		}
		file = filepath.Join(t.TempDir(), "attest.json")
		if err := os.WriteFile(file, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return file, sig
	}
	file, sig := bodyFile(t, nonce, client.Evidence{})
	post := []string{"--http-method=POST", "--data=" + file}

	// gtlsclient alone sends no Content-Type.
	wantError(t, "attest without header fields", g.do(t, "/v1/attest", nil, post...), 415, "unsupported_media_type")

	g.buildShim(t)
	// Mixed-case names: the shim lower-cases them, as HTTP/3 requires.
	headers := func(sig string) []string {
		return []string{"Content-Type: application/json", "Attest-Signature: " + sig}
	}

	otherSig, err := cl.Sign([]byte("not the body"))
	if err != nil {
		t.Fatal(err)
	}
	wantError(t, "attest signed over other bytes", g.do(t, "/v1/attest", headers(otherSig), post...), 401, "signature_invalid")

	r = g.do(t, "/v1/attest", headers(sig), post...)
	var v client.Result
	if err := json.Unmarshal(r.Body, &v); err != nil || r.Status != 200 || v.Token == "" {
		t.Fatalf("attest over gtlsclient: %d %q (%v)\n%s", r.Status, r.Body, err, r.Out)
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("attest over gtlsclient: Content-Type %q", ct)
	}
	keyFunc := func(tok *jwt.Token) (any, error) {
		if kid, _ := tok.Header["kid"].(string); kid != testenv.KIDES {
			return nil, fmt.Errorf("kid %q, want %s", kid, testenv.KIDES)
		}
		return keys[0].Key, nil
	}
	verify := func(token string) (jwt.MapClaims, error) {
		claims := jwt.MapClaims{}
		_, err := jwt.ParseWithClaims(token, claims, keyFunc, jwt.WithValidMethods([]string{"ES256"}),
			jwt.WithAudience(testenv.AccountES), jwt.WithIssuer("attestd"), jwt.WithExpirationRequired())
		return claims, err
	}
	claims, err := verify(v.Token)
	if err != nil {
		t.Fatalf("attest over gtlsclient: the verdict did not pass: %v\n%s", err, r.Body)
	}
	if claims["sub"] != testenv.AppES || claims["did"] != cl.DID() {
		t.Errorf("token claims sub %v did %v, want %s %s", claims["sub"], claims["did"], testenv.AppES, cl.DID())
	}
	if exp, _ := claims.GetExpirationTime(); exp == nil || exp.Unix() != v.ExpiresAt {
		t.Errorf("expires_at %d, token exp %v", v.ExpiresAt, exp)
	}

	wantError(t, "attest sent again", g.do(t, "/v1/attest", headers(sig), post...), 401, "nonce_replayed")

	// A failed verdict is a 200 too; its token must not verify.
	file, sig = bodyFile(t, challenge(t), client.Evidence{Integrity: client.Integrity{Hooked: true}})
	r = g.do(t, "/v1/attest", headers(sig), "--http-method=POST", "--data="+file)
	if err := json.Unmarshal(r.Body, &v); err != nil || r.Status != 200 || v.Token == "" {
		t.Fatalf("hooked attest over gtlsclient: %d %q (%v)\n%s", r.Status, r.Body, err, r.Out)
	}
	if _, err := verify(v.Token); err == nil {
		t.Fatal("a hooked app's token verifies against the account's key")
	}
	t.Logf("gtlsclient over HTTP/3: challenge, JWKS (%d keys), 415, signature_invalid, a passing attest, nonce_replayed, a failed verdict", len(jwks.Keys))
}
