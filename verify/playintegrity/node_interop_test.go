package playintegrity_test

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/attestd/attestd/verify/playintegrity"
)

// interopDir is interop/node from this package's directory.
var interopDir = filepath.Join("..", "..", "interop", "node")

// nodeJose finds node and the installed npm package jose. Without them the
// test skips, unless CI is set: there it fails.
func nodeJose(t *testing.T) string {
	t.Helper()
	node, err := exec.LookPath("node")
	missing := ""
	switch {
	case err != nil:
		missing = "node is not on PATH"
	default:
		if _, err := os.Stat(filepath.Join(interopDir, "node_modules", "jose", "package.json")); err != nil {
			missing = "interop/node/node_modules/jose is missing (run npm ci in interop/node)"
		}
	}
	if missing != "" {
		if os.Getenv("CI") != "" {
			t.Fatalf("CI is set and %s", missing)
		}
		t.Skip(missing)
	}
	return node
}

type nodeCase struct {
	Name    string            `json:"name"`
	Payload string            `json:"payload"`
	Kind    string            `json:"kind"`
	Header  map[string]string `json:"header,omitempty"`
}

// TestTokensOfAnIndependentEncoder: tokens made by npm jose, not by
// go-jose, the way Google makes them pass, and each way Google does not
// make them fails with its reason, so the decoder is not checked only
// against the library it is built on.
func TestTokensOfAnIndependentEncoder(t *testing.T) {
	node := nodeJose(t)
	r := newRig(t)
	pkcs8, err := x509.MarshalPKCS8PrivateKey(r.iss.SigningKey)
	if err != nil {
		t.Fatal(err)
	}
	payload := string(r.pass().JSON())
	want := map[string]string{
		"genuine": "", "genuine-with-kid-and-typ": "",
		"dir": "play_malformed", "a128gcm": "play_malformed", "es384": "play_malformed", "hs256": "play_malformed",
		"none": "play_malformed", "bare-jws": "play_malformed", "jwe-json": "play_malformed",
		"other-key": "play_keys", "another-device": "play_nonce",
	}
	other := r.pass()
	other.Nonce = playintegrity.Nonce(r.nonce, deviceSPKI(t))
	cases := []nodeCase{
		{Name: "genuine", Payload: payload, Kind: "genuine"},
		{Name: "genuine-with-kid-and-typ", Payload: payload, Kind: "genuine", Header: map[string]string{"kid": "k1", "typ": "JWT"}},
		{Name: "another-device", Payload: string(other.JSON()), Kind: "genuine"},
	}
	for _, k := range []string{"dir", "a128gcm", "es384", "hs256", "none", "bare-jws", "jwe-json", "other-key"} {
		cases = append(cases, nodeCase{Name: k, Payload: payload, Kind: k})
	}
	in, _ := json.Marshal(map[string]any{
		"decryptionKey": r.iss.DecryptionKeyB64(), "signingKeyPKCS8": base64.StdEncoding.EncodeToString(pkcs8), "cases": cases,
	})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "playintegrity.mjs")
	cmd.Dir = interopDir
	cmd.Stdin = bytes.NewReader(in)
	var so, se bytes.Buffer
	cmd.Stdout, cmd.Stderr = &so, &se
	if err := cmd.Run(); err != nil {
		t.Fatalf("node: %v: %s", err, se.String())
	}
	var out struct{ Tokens map[string]string }
	if err := json.Unmarshal(so.Bytes(), &out); err != nil {
		t.Fatal(err)
	}
	if len(out.Tokens) != len(want) {
		t.Fatalf("node made %d tokens, want %d", len(out.Tokens), len(want))
	}
	for name, reason := range want {
		t.Run(name, func(t *testing.T) {
			_, err := r.verify(out.Tokens[name], playintegrity.Policy{})
			wantReason(t, err, reason)
		})
	}
}
