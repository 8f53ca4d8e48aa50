package ctl

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/attestd/attestd/crypto/debugtoken"
)

func (e *env) debugTokens(args ...string) []debugTokenInfo {
	e.t.Helper()
	var out []debugTokenInfo
	if err := json.Unmarshal([]byte(e.ok(append([]string{"debug-token", "list"}, args...)...).stdout), &out); err != nil {
		e.t.Fatal(err)
	}
	return out
}

// TestDebugTokenCommands: add prints the token once, alone on stdout;
// list shows names, apps and expiry, never a token or a MAC; revoke ends
// one; the bounds are enforced with errors that say why.
func TestDebugTokenCommands(t *testing.T) {
	e := newEnv(t)
	now := time.Unix(1_900_000_000, 0)
	e.cfg.Now = func() time.Time { return now }
	e.ok("init")
	e.ok("import", e.writeFile("a.json", bundleJS()))
	e.ok("import", e.writeFile("b.json", secondBundle("beta")))
	add := e.ok("debug-token", "add", "acme", "com.example.shop", "ci-runner", "--ttl", "2d", "--secrets")
	tok := strings.TrimSuffix(add.stdout, "\n")
	if !debugtoken.WellFormed([]byte(tok)) || strings.Count(add.stdout, "\n") != 1 {
		t.Fatalf("stdout %q is not one token", add.stdout)
	}
	if strings.Contains(add.stderr, tok) || !strings.Contains(add.stderr, "shown only now") {
		t.Fatalf("stderr %q", add.stderr)
	}
	e.ok("debug-token", "add", "acme", "com.example.shop", "emulator")
	e.ok("debug-token", "add", "beta", "app.beta", "ci-runner", "--ttl", "90m")
	list := e.debugTokens()
	if len(list) != 3 {
		t.Fatalf("list: %+v", list)
	}
	want := debugTokenInfo{Account: "acme", App: "com.example.shop", Name: "ci-runner", Created: "2030-03-17T17:46:40Z",
		Expires: "2030-03-19T17:46:40Z", ExpiresAt: now.Add(48 * time.Hour).Unix(), Secrets: true}
	if list[0] != want || list[1].Name != "emulator" || list[1].Secrets || list[2].App != "app.beta" {
		t.Fatalf("list: %+v", list)
	}
	if got := e.debugTokens("acme", "com.example.shop"); len(got) != 2 {
		t.Fatalf("list acme com.example.shop: %+v", got)
	}
	if got := e.debugTokens("beta"); len(got) != 1 || got[0].Expires != "2030-03-17T19:16:40Z" {
		t.Fatalf("list beta: %+v", got)
	}
	if raw := e.ok("debug-token", "list").stdout; strings.Contains(raw, tok) || strings.Contains(raw, "debug_tokens/") {
		t.Fatal("list shows a token or a MAC")
	}

	e.fail(ExitFailure, []string{"debug-token", "add", "acme", "com.example.shop", "ci-runner"}, "already has a debug token named")
	e.fail(ExitFailure, []string{"debug-token", "add", "acme", "com.example.shop", "x", "--ttl", "91d"}, "must be 1m0s to 2160h0m0s")
	e.fail(ExitUsage, []string{"debug-token", "add", "acme", "com.example.shop", "x", "--ttl", "soon"}, "--ttl")
	e.fail(ExitUsage, []string{"debug-token", "add", "acme", "com.example.shop", "bad name"}, "debug token name")
	e.fail(ExitFailure, []string{"debug-token", "add", "acme", "app.beta", "x"}, `app "app.beta" of account "acme"`)
	e.fail(ExitFailure, []string{"debug-token", "add", "acme", "com.example.none", "x"}, "not found")

	now = now.Add(91 * time.Minute)
	if got := e.debugTokens("beta"); !got[0].Expired {
		t.Fatalf("an expired token is not shown so: %+v", got)
	}
	e.ok("debug-token", "revoke", "acme", "com.example.shop", "ci-runner")
	e.fail(ExitFailure, []string{"debug-token", "revoke", "acme", "com.example.shop", "ci-runner"}, "not found")
	e.fail(ExitFailure, []string{"debug-token", "revoke", "beta", "com.example.shop", "emulator"}, "not found")
	if got := e.debugTokens(); len(got) != 2 || got[0].Name != "emulator" {
		t.Fatalf("after revoke: %+v", got)
	}
	if r := e.ok("app", "remove", "acme", "com.example.shop", "--yes"); !strings.Contains(r.stdout, "1 debug token (com.example.shop/emulator)") {
		t.Fatalf("app remove says %q", r.stdout)
	}
	if got := e.debugTokens(); len(got) != 1 {
		t.Fatalf("after app remove: %+v", got)
	}
}

// TestAppEnforcementCommand: an app switches between monitor and enforce
// and nothing else of it changes.
func TestAppEnforcementCommand(t *testing.T) {
	e := newEnv(t)
	e.ok("init")
	e.ok("import", e.writeFile("a.json", bundleJS()))
	before := e.ok("get", "app", "com.example.shop").stdout
	if r := e.ok("app", "enforcement", "com.example.shop", "monitor"); !strings.Contains(r.stdout, "now in monitor mode") {
		t.Fatalf("stdout %q", r.stdout)
	}
	got := e.ok("get", "app", "com.example.shop").stdout
	if !strings.Contains(got, `"enforcement": "monitor"`) {
		t.Fatalf("app after monitor: %s", got)
	}
	if r := e.ok("app", "enforcement", "com.example.shop", "monitor"); !strings.Contains(r.stdout, "already in monitor mode") {
		t.Fatalf("stdout %q", r.stdout)
	}
	e.ok("app", "enforcement", "com.example.shop", "enforce")
	if after := e.ok("get", "app", "com.example.shop").stdout; after != before {
		t.Fatalf("app changed:\n%s\nwas\n%s", after, before)
	}
	e.fail(ExitUsage, []string{"app", "enforcement", "com.example.shop", "audit"}, "want monitor or enforce")
	e.fail(ExitFailure, []string{"app", "enforcement", "com.example.none", "monitor"}, "not found")
	e.ok("import", e.writeFile("m.json", strings.Replace(bundleJS(), `"policy": {"android_min_security": "tee"}`,
		`"policy": {"android_min_security": "tee", "enforcement": "monitor"}`, 1)))
	if got := e.ok("get", "app", "com.example.shop").stdout; !strings.Contains(got, `"enforcement": "monitor"`) {
		t.Fatalf("import did not set monitor: %s", got)
	}
}
