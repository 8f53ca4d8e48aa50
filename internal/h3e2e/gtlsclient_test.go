package h3e2e

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/attestd/attestd/client"
	"github.com/attestd/attestd/internal/testenv"
)

// gtlsclient runs Debian's ngtcp2 example client (GnuTLS, ngtcp2,
// nghttp3: no quic-go) against url and returns the answer body it saved
// and what it printed.
func gtlsclient(t *testing.T, bin, host, port, url string, extra ...string) (body []byte, out string) {
	t.Helper()
	dir := t.TempDir()
	args := append([]string{"--exit-on-all-streams-close", "--no-quic-dump", "--timeout=5s",
		"--handshake-timeout=5s", "--download=" + dir}, extra...)
	args = append(args, host, port, url)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	b, err := exec.CommandContext(ctx, bin, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("gtlsclient %s: %v\n%s", url, err, b)
	}
	files, _ := os.ReadDir(dir)
	if len(files) != 1 {
		t.Fatalf("gtlsclient %s: saved %d files; output:\n%s", url, len(files), b)
	}
	body, err = os.ReadFile(filepath.Join(dir, files[0].Name()))
	if err != nil {
		t.Fatal(err)
	}
	return body, string(b)
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

// TestGtlsclientHTTP3 reaches the HTTP/3 listener with a client that
// shares no code with quic-go: gtlsclient fetches a nonce (POST
// /v1/challenge), the account's JWKS, and posts a signed attest body.
// gtlsclient sends no request headers of its own choosing (no
// Content-Type, no Attest-Signature), so the attest POST is answered with
// the protocol's 415 error body: the same answer, byte for byte in code,
// that the quic-go client gets for the same request.
func TestGtlsclientHTTP3(t *testing.T) {
	bin := needBinary(t, "gtlsclient", "ngtcp2-client")
	f := testenv.NewFixture(t)
	c := NewCert(t, t.TempDir(), "node")
	node := testenv.StartNode(t, testenv.NewStore(t, f), TLSOptions(c, testenv.Options{}))
	host, port, _ := strings.Cut(node.D.HTTP3Addr().String(), ":")
	base := "https://" + node.D.HTTP3Addr().String()

	body, out := gtlsclient(t, bin, host, port, base+"/v1/challenge", "--http-method=POST")
	var ch struct {
		Nonce     string `json:"nonce"`
		ExpiresAt int64  `json:"expires_at"`
	}
	if err := json.Unmarshal(body, &ch); err != nil || ch.Nonce == "" {
		t.Fatalf("challenge over gtlsclient: %q (%v)\n%s", body, err, out)
	}
	if !strings.Contains(out, ":status: 200") && !strings.Contains(out, "200") {
		t.Errorf("challenge status not 200:\n%s", out)
	}

	body, _ = gtlsclient(t, bin, host, port, base+"/v1/accounts/"+testenv.AccountES+"/jwks.json")
	var jwks struct{ Keys []map[string]any }
	if err := json.Unmarshal(body, &jwks); err != nil || len(jwks.Keys) == 0 {
		t.Fatalf("jwks over gtlsclient: %q (%v)", body, err)
	}

	// The nonce gtlsclient fetched, in a body signed by the Go client.
	cl, err := client.New(client.Config{BaseURL: base, App: f.ClientApp(testenv.App), Now: node.Clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	att, err := cl.Body(ch.Nonce, client.Evidence{})
	if err != nil {
		t.Fatal(err)
	}
	bodyFile := filepath.Join(t.TempDir(), "attest.json")
	if err := os.WriteFile(bodyFile, att, 0o600); err != nil {
		t.Fatal(err)
	}
	body, out = gtlsclient(t, bin, host, port, base+"/v1/attest", "--http-method=POST", "--data="+bodyFile)
	var e struct{ Error, Message string }
	if err := json.Unmarshal(body, &e); err != nil || e.Error != "unsupported_media_type" {
		t.Fatalf("attest over gtlsclient: %q (%v)\n%s", body, err, out)
	}
	t.Logf("gtlsclient attest exchange:\n%s", out)
	t.Logf("gtlsclient: challenge, JWKS (%d keys) and attest (%s) over HTTP/3", len(jwks.Keys), e.Error)
}
