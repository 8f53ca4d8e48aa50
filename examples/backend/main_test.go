package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/attestd/attestd/client"
	"github.com/attestd/attestd/daemon"
	"github.com/attestd/attestd/internal/ctl"
	"github.com/attestd/attestd/internal/model"
	"github.com/attestd/attestd/internal/state"
	"github.com/attestd/attestd/internal/testenv"
)

// startBackend runs the example as `go run ./examples/backend ARGS` would,
// with the environment env, on a loopback port the kernel picks; it stops
// when the test ends. It returns the base URL.
func startBackend(t *testing.T, env map[string]string, args ...string) string {
	t.Helper()
	return startBackendAt(t, nil, env, args...)
}

// startBackendAt is startBackend with the clock now (nil: time.Now).
func startBackendAt(t *testing.T, now func() time.Time, env map[string]string, args ...string) string {
	t.Helper()
	o, err := parse(args, func(k string) string { return env[k] }, io.Discard)
	if err != nil {
		t.Fatalf("parse %v: %v", args, err)
	}
	o.now = now
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	go func() { done <- serve(ctx, o, ln, slog.New(slog.NewTextHandler(io.Discard, nil))) }()
	t.Cleanup(func() {
		cancel()
		if rc := <-done; rc != 0 {
			t.Errorf("backend %v exited %d", args, rc)
		}
	})
	return "http://" + ln.Addr().String()
}

// get sends GET / with the token (none when "") and returns the status and body.
func get(t *testing.T, base, tok string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, base+"/", nil)
	if tok != "" {
		req.Header.Set("Attest-Token", tok)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// TestExample runs the example server on loopback and sends it a token the
// example mints, and a request without one.
func TestExample(t *testing.T) {
	env := map[string]string{"ATTESTD_HS256_SECRET": "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="}
	getenv := func(k string) string { return env[k] }
	var out bytes.Buffer
	if rc := run(context.Background(), []string{"-mint"}, getenv, &out, io.Discard); rc != 0 {
		t.Fatalf("-mint exited %d", rc)
	}
	tok := strings.TrimSpace(out.String())
	base := startBackend(t, env)

	status, body := get(t, base, tok)
	var claims map[string]any
	if status != 200 || json.Unmarshal([]byte(body), &claims) != nil || claims["app"] != "com.example.demo" || claims["account"] != "demo" {
		t.Fatalf("with a token: %d %s", status, body)
	}
	if status, body := get(t, base, ""); status != 401 || !strings.Contains(body, `"token_invalid"`) {
		t.Fatalf("without a token: %d %s", status, body)
	}
}

func TestExampleNeedsAKey(t *testing.T) {
	if rc := run(context.Background(), nil, func(string) string { return "" }, io.Discard, io.Discard); rc != 2 {
		t.Fatalf("exit %d without a key, want 2", rc)
	}
	// -mint signs with the HS256 key; a JWKS alone cannot mint.
	args := []string{"-mint", "-jwks", "http://127.0.0.1:8080/v1/accounts/demo/jwks.json"}
	if rc := run(context.Background(), args, func(string) string { return "" }, io.Discard, io.Discard); rc != 2 {
		t.Fatalf("exit %d for -mint without an HS256 key, want 2", rc)
	}
}

// TestExampleListensBesideTheEdge: the README runs the example beside a
// local edge, so its default address must not be the edge's.
func TestExampleListensBesideTheEdge(t *testing.T) {
	o, err := parse(nil, func(k string) string {
		return map[string]string{"ATTESTD_HS256_SECRET": "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="}[k]
	}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	edge := daemon.DefaultFlags()
	if o.listen == edge.Listen || o.listen == edge.AdminListen {
		t.Fatalf("the example listens on %s, which the edge takes by default", o.listen)
	}
}

// attestctl runs attestctl against store and returns its standard output.
func attestctl(t *testing.T, store string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var out, errb bytes.Buffer
	if rc := (&ctl.Config{}).Main(ctx, append([]string{"--store", store}, args...), strings.NewReader(""), &out, &errb); rc != 0 {
		t.Fatalf("attestctl %v: exit %d: %s", args, rc, errb.String())
	}
	return out.String()
}

// demoToken attests the demo app on the edge, as `attestctl try` does, and
// returns the token and its kid.
func demoToken(t *testing.T, edge string) (tok, kid string) {
	t.Helper()
	d := state.Demo()
	c, err := client.New(client.Config{BaseURL: edge,
		App: client.App{ID: d.AppID, Version: d.Version, Platform: d.Platform, Signer: d.Signer, CodeDigest: d.CodeDigest}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res, err := c.Attest(ctx, client.Evidence{})
	if err != nil {
		t.Fatal(err)
	}
	hdr, err := base64.RawURLEncoding.DecodeString(strings.SplitN(res.Token, ".", 2)[0])
	if err != nil {
		t.Fatal(err)
	}
	var h struct{ Kid string }
	if err := json.Unmarshal(hdr, &h); err != nil {
		t.Fatal(err)
	}
	return res.Token, h.Kid
}

// TestWalkThroughRotationNeedsJWKS follows README.md beside this file on a
// real edge: the HS256 recipe verifies the demo's tokens until the key
// rotation of the main README (an ES256 key k2, activated); after it, new
// tokens verify only with the JWKS, which the example fetches from the edge.
func TestWalkThroughRotationNeedsJWKS(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	store := "file://" + dir
	attestctl(t, store, "init", "--demo")
	st := &testenv.Store{Dir: dir, URL: store}
	node := testenv.StartNode(t, st, testenv.Options{})

	exp, err := model.DecodeBundle(strings.NewReader(attestctl(t, store, "export", "--reveal-secrets")))
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{}
	for _, a := range exp.Accounts {
		for _, k := range a.Keys {
			if a.ID == "demo" && k.KID == "k1" {
				env["ATTESTD_HS256_SECRET"] = string(k.Secret.Reveal())
			}
		}
	}
	if env["ATTESTD_HS256_SECRET"] == "" {
		t.Fatal("the demo's export has no secret for key k1")
	}
	hsOnly := startBackend(t, env)
	jwks := node.Base + "/v1/accounts/demo/jwks.json"
	// The README's command: both, started before the rotation (on a clock
	// the test moves).
	earlyClock := &testenv.Clock{}
	early := startBackendAt(t, earlyClock.Now, env, "-jwks", jwks, "-jwks-min-refresh", "1s")
	old, kid := demoToken(t, node.Base)
	if kid != "k1" {
		t.Fatalf("the demo signs with %q, want k1", kid)
	}
	for name, b := range map[string]string{"HS256 recipe": hsOnly, "HS256 and JWKS": early} {
		if status, body := get(t, b, old); status != 200 {
			t.Fatalf("%s, k1 token: %d %s", name, status, body)
		}
	}

	attestctl(t, store, "key", "add", "demo", "--alg", "ES256", "--kid", "k2")
	attestctl(t, store, "key", "activate", "demo", "k2")
	node.AwaitRevision(t, st.Revision(t), 5*time.Second)
	tok, kid := demoToken(t, node.Base)
	if kid != "k2" {
		t.Fatalf("the edge still signs with %q after key activate", kid)
	}

	if status, body := get(t, hsOnly, tok); status != 401 || !strings.Contains(body, "token_invalid") {
		t.Errorf("HS256 recipe, k2 token: %d %s, want 401 token_invalid", status, body)
	}
	if status, body := get(t, hsOnly, old); status != 200 {
		t.Errorf("HS256 recipe, k1 token (k1 now verify): %d %s", status, body)
	}
	// The backend started before the rotation fetches the JWKS again for
	// the unknown kid k2 once its last fetch is 1 s old.
	earlyClock.Advance(time.Second)
	if status, body := get(t, early, tok); status != 200 {
		t.Fatalf("HS256 and JWKS started before the rotation, k2 token 1 s after its last fetch: %d %s", status, body)
	}
	both := startBackend(t, env, "-jwks", jwks)
	for name, tk := range map[string]string{"k2": tok, "k1": old} {
		if status, body := get(t, both, tk); status != 200 || !strings.Contains(body, `"app": "com.example.demo"`) {
			t.Errorf("HS256 and JWKS, %s token: %d %s", name, status, body)
		}
	}
	jwksOnly := startBackend(t, map[string]string{}, "-jwks", jwks)
	if status, body := get(t, jwksOnly, tok); status != 200 {
		t.Errorf("JWKS alone, k2 token: %d %s", status, body)
	}
	if status, _ := get(t, jwksOnly, old); status != 401 {
		t.Errorf("JWKS alone, k1 token: %d, want 401 (HS256 keys are never published)", status)
	}
}
