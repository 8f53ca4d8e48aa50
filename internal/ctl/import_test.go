package ctl

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/attestd/attestd/internal/model"
)

func TestImportExportGetList(t *testing.T) {
	e := newEnv(t)
	f := e.writeFile("bundle.json", bundleJS())
	r := e.ok("import", f)
	if !strings.Contains(r.stdout, "imported 1 account(s), 1 app(s), the ban list") {
		t.Errorf("import said %q", r.stdout)
	}
	// Same bundle again: nothing to change.
	if r := e.ok("import", f); !strings.Contains(r.stdout, "nothing to change") {
		t.Errorf("re-import said %q", r.stdout)
	}
	// From standard input.
	if r := e.runIn(bundleJS(), "import", "-"); r.code != 0 {
		t.Fatalf("import -: %d %s", r.code, r.stderr)
	}

	exp := e.ok("export").stdout
	if strings.Contains(exp, runtimeSecret) || strings.Contains(exp, hsSecret("Q")) {
		t.Fatal("export shows secrets")
	}
	var b model.Bundle
	if err := json.Unmarshal([]byte(exp), &b); err != nil {
		t.Fatal(err)
	}
	if len(b.Accounts) != 1 || len(b.Apps) != 1 || b.Bans == nil || !strings.Contains(exp, `"secret": "[redacted]"`) {
		t.Fatalf("export: %s", exp)
	}

	acc := e.ok("get", "account", "acme").stdout
	if !strings.Contains(acc, `"id": "acme"`) || !strings.Contains(acc, `"value": "[redacted]"`) || strings.Contains(acc, runtimeSecret) {
		t.Errorf("get account: %s", acc)
	}
	if app := e.ok("get", "app", "com.example.shop").stdout; !strings.Contains(app, `"platform": "android"`) {
		t.Errorf("get app: %s", app)
	}
	e.fail(ExitFailure, []string{"get", "account", "nobody"}, "not found", "nobody")
	e.fail(ExitUsage, []string{"get", "thing", "x"}, "account or app")
	for what, want := range map[string]string{"accounts": `"acme"`, "apps": `"com.example.shop"`, "bans": digestB64u("device-1")} {
		if out := e.ok("list", what).stdout; !strings.Contains(out, want) {
			t.Errorf("list %s: %s", what, out)
		}
	}
}

func TestImportInvalidNamesFieldAndWritesNothing(t *testing.T) {
	e := newEnv(t)
	e.ok("import", e.writeFile("b.json", bundleJS()))
	before := e.stateBytes()
	exportBefore := e.ok("export").stdout
	good := bundleJS()
	cases := []struct {
		name, old, new string
		want           []string
	}{
		{"syntax", `"accounts": [{`, `"accounts": [{,`, []string{"invalid bundle"}},
		{"unknown-field", `"annotate": true`, `"anotate": true`, []string{"accounts[0].token.anotate: unknown member"}},
		{"unknown-field-policy", `"android_min_security": "tee"`, `"android_min_securty": "tee"`, []string{"apps[0].policy.android_min_securty: unknown member"}},
		{"key-secret", hsSecret("Q"), "bm90IDMyIGJ5dGVz", []string{"accounts[0].keys[0].secret"}},
		{"key-alg", `"alg": "HS256"`, `"alg": "RS256"`, []string{"accounts[0].keys[0].alg"}},
		{"key-status", `"status": "active"`, `"status": "verify"`, []string{"accounts[0].keys", "exactly one key must be active"}},
		{"ttl", `"ttl": 300`, `"ttl": 5`, []string{"accounts[0].token.ttl"}},
		{"pin", digestB64("p2"), "short", []string{`accounts[0].pins["api.example.com"][1]`}},
		{"inject", `"secret": "maps_api_key"}`, `"secret": "nope"}`, []string{"accounts[0].apis[0].inject.secret"}},
		{"upstream", "https://maps.example.com", "ftp://x", []string{"accounts[0].apis[0].upstream"}},
		{"platform", `"platform": "android"`, `"platform": "ios"`, []string{"apps[0].team_id"}},
		{"signer", digestB64u("signer"), "abc", []string{"apps[0].signers[0]"}},
		{"version", digestB64u("code"), "abc", []string{`apps[0].versions["4.2.1"]`}},
		{"min-security", `"android_min_security": "tee"`, `"android_min_security": "high"`, []string{"apps[0].policy.android_min_security"}},
		{"ban", digestB64u("device-1"), "nope", []string{"bans.devices[0]"}},
		{"app-account", `"account": "acme"`, `"account": "ghost"`, []string{`apps["com.example.shop"].account`, "ghost"}},
		{"redacted", runtimeSecret, "[redacted]", []string{"accounts[0].secrets[0].value", "--reveal-secrets"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			bad := strings.Replace(good, c.old, c.new, 1)
			if bad == good {
				t.Fatalf("case does not change the bundle")
			}
			r := e.fail(ExitFailure, []string{"import", e.writeFile("bad.json", bad)}, c.want...)
			if strings.Contains(r.stderr, hsSecret("Q")) || strings.Contains(r.stderr, runtimeSecret) {
				t.Error("error shows a secret")
			}
			if !bytes.Equal(e.stateBytes(), before) {
				t.Fatal("a failed import changed the store")
			}
		})
	}
	if e.ok("export").stdout != exportBefore {
		t.Fatal("export changed after failed imports")
	}
	e.fail(ExitFailure, []string{"import", "/nonexistent/bundle.json"}, "no such file")
	e.fail(ExitUsage, []string{"import"}, "wrong number of arguments")
}

func TestImportReplacesNamedRecordsWholeKeepsOthers(t *testing.T) {
	e := newEnv(t)
	e.ok("import", e.writeFile("a.json", bundleJS()))
	e.ok("import", e.writeFile("b.json", secondBundle("beta")))
	// Re-import acme without its secrets, apis and pins, and no ban list.
	slim := `{"accounts": [{"id": "acme", "keys": [{"kid": "k7", "alg": "HS256", "secret": "` + hsSecret("R") + `", "status": "active"}]}]}`
	e.ok("import", e.writeFile("slim.json", slim))
	var b model.Bundle
	if err := json.Unmarshal([]byte(e.ok("export").stdout), &b); err != nil {
		t.Fatal(err)
	}
	if len(b.Accounts) != 2 || b.Accounts[0].ID != "acme" || b.Accounts[1].ID != "beta" {
		t.Fatalf("accounts: %+v", b.Accounts)
	}
	acme := b.Accounts[0]
	if len(acme.Keys) != 1 || acme.Keys[0].KID != "k7" || acme.Secrets != nil || acme.Pins != nil || acme.APIs != nil {
		t.Fatalf("acme not replaced whole: %+v", acme)
	}
	if len(b.Apps) != 2 || b.Bans == nil || len(b.Bans.Devices) != 1 {
		t.Fatalf("records not named were touched: %+v", b)
	}
}

func TestConcurrentImports(t *testing.T) {
	e := newEnv(t)
	e.ok("init")
	const rounds = 5
	var wg sync.WaitGroup
	for g := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range rounds {
				id := fmt.Sprintf("acct%d-%d", g, i)
				if r := e.run("import", e.writeFile(id+".json", secondBundle(id))); r.code != 0 {
					t.Errorf("import %s: %s", id, r.stderr)
				}
			}
		}()
	}
	wg.Wait()
	var b model.Bundle
	if err := json.Unmarshal([]byte(e.ok("export").stdout), &b); err != nil {
		t.Fatal(err)
	}
	if len(b.Accounts) != 2*rounds || len(b.Apps) != 2*rounds {
		t.Fatalf("lost imports: %d accounts, %d apps", len(b.Accounts), len(b.Apps))
	}
}

func TestExportRevealRoundTrip(t *testing.T) {
	e := newEnv(t)
	e.ok("import", e.writeFile("a.json", bundleJS()))
	r := e.ok("export", "--reveal-secrets")
	if !strings.Contains(r.stdout, runtimeSecret) || !strings.Contains(r.stdout, hsSecret("Q")) {
		t.Fatal("revealed export lacks secrets")
	}
	if !strings.Contains(r.stderr, "in clear") {
		t.Errorf("no warning: %q", r.stderr)
	}
	// Into a fresh store (another master key), and back out the same.
	e2 := newEnv(t)
	e2.ok("import", e2.writeFile("r.json", r.stdout))
	r2 := e2.ok("export", "--reveal-secrets")
	if r2.stdout != r.stdout {
		t.Fatalf("round trip differs:\n%s\n%s", r.stdout, r2.stdout)
	}
}
