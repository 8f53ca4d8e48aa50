package ctl

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// outputs collects every stdout and stderr a test produced, for the scan
// that no secret was ever shown.
type outputs struct {
	mu  sync.Mutex
	all []string
}

func (o *outputs) add(s ...string) {
	o.mu.Lock()
	o.all = append(o.all, s...)
	o.mu.Unlock()
}

// env is a store in a temporary directory and a way to run attestctl on it.
type env struct {
	t    *testing.T
	dir  string
	url  string
	cfg  Config
	outs *outputs
}

// newEnv is an env whose store exists ('attestctl init' made it).
func newEnv(t *testing.T) *env {
	t.Helper()
	e := newBareEnv(t)
	e.ok("init")
	return e
}

// newBareEnv is an env whose store does not exist yet.
func newBareEnv(t *testing.T) *env {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "data")
	return &env{t: t, dir: dir, url: "file://" + dir, outs: &outputs{}, cfg: Config{Program: "attestctl"}}
}

type result struct {
	code           int
	stdout, stderr string
}

// run runs attestctl --store <env> ARGS with stdin.
func (e *env) runIn(stdin string, args ...string) result {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var out, errb bytes.Buffer
	full := append([]string{"--store", e.url}, args...)
	code := e.cfg.Main(ctx, full, strings.NewReader(stdin), &out, &errb)
	res := result{code: code, stdout: out.String(), stderr: errb.String()}
	switch {
	case len(args) > 1 && args[0] == "export" && args[1] == "--reveal-secrets":
	case len(args) > 1 && args[0] == "key" && args[1] == "show-secret":
		e.outs.add(res.stderr) // its standard output is the secret asked for
	default:
		e.outs.add(res.stdout, res.stderr)
	}
	return res
}

func (e *env) run(args ...string) result {
	e.t.Helper()
	return e.runIn("", args...)
}

// ok runs a command that must succeed.
func (e *env) ok(args ...string) result {
	e.t.Helper()
	r := e.run(args...)
	if r.code != ExitOK {
		e.t.Fatalf("attestctl %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
	}
	return r
}

// fail runs a command that must fail with code and mention every want.
func (e *env) fail(code int, args []string, want ...string) result {
	e.t.Helper()
	r := e.run(args...)
	if r.code != code {
		e.t.Fatalf("attestctl %s: exit %d, want %d\nstderr: %s", strings.Join(args, " "), r.code, code, r.stderr)
	}
	for _, w := range want {
		if !strings.Contains(r.stderr, w) {
			e.t.Errorf("attestctl %s: stderr %q does not mention %q", strings.Join(args, " "), r.stderr, w)
		}
	}
	return r
}

func (e *env) writeFile(name, content string) string {
	e.t.Helper()
	p := filepath.Join(e.t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		e.t.Fatal(err)
	}
	return p
}

func (e *env) stateBytes() []byte {
	e.t.Helper()
	b, err := os.ReadFile(filepath.Join(e.dir, "state.json"))
	if err != nil && !os.IsNotExist(err) {
		e.t.Fatal(err)
	}
	return b
}

func digestB64u(s string) string {
	d := sha256.Sum256([]byte(s))
	return base64.RawURLEncoding.EncodeToString(d[:])
}

func digestB64(s string) string {
	d := sha256.Sum256([]byte(s))
	return base64.StdEncoding.EncodeToString(d[:])
}

func hsSecret(tag string) string {
	return base64.StdEncoding.EncodeToString([]byte(strings.Repeat(tag, 32)[:32]))
}

const runtimeSecret = "RUNTIME-SECRET-maps-0001"

// bundleJS is a valid bundle; replace with strings.Replace to break it.
func bundleJS() string {
	return `{
  "accounts": [{
    "id": "acme", "token": {"ttl": 300, "annotate": true},
    "keys": [{"kid": "k1", "alg": "HS256", "secret": "` + hsSecret("Q") + `", "status": "active"}],
    "secrets": [{"name": "maps_api_key", "value": "` + runtimeSecret + `", "apps": ["com.example.shop"]}],
    "pins": {"api.example.com": ["` + digestB64("p1") + `", "` + digestB64("p2") + `"]},
    "apis": [{"name": "maps", "upstream": "https://maps.example.com", "inject": {"header": "X-Api-Key", "secret": "maps_api_key"}}]
  }],
  "apps": [{
    "id": "com.example.shop", "account": "acme", "platform": "android",
    "signers": ["` + digestB64u("signer") + `"],
    "versions": {"4.2.1": "` + digestB64u("code") + `"},
    "policy": {"android_min_security": "tee"}
  }],
  "bans": {"devices": ["` + digestB64u("device-1") + `"]}
}`
}

// secondBundle names another account and app only.
func secondBundle(id string) string {
	return `{
  "accounts": [{"id": "` + id + `", "keys": [{"kid": "k1", "alg": "HS256", "secret": "` + hsSecret("W") + `", "status": "active"}]}],
  "apps": [{"id": "app.` + id + `", "account": "` + id + `", "platform": "ios", "team_id": "TEAM",
            "signers": ["` + digestB64u("s-"+id) + `"], "versions": {"1": "` + digestB64u("c-"+id) + `"}}]
}`
}
