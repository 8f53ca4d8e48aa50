package ctl

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/attestd/attestd/crypto/debugtoken"
	"github.com/attestd/attestd/crypto/secret"
	"github.com/attestd/attestd/internal/model"
	"github.com/attestd/attestd/internal/state"
	"github.com/attestd/attestd/store/open"
)

// TestNoSecretInOutput runs every command, the failing paths too, then
// checks that no secret, key or master key, in any encoding, appears in
// anything attestctl printed (except `export --reveal-secrets`, which is
// not collected).
func TestNoSecretInOutput(t *testing.T) {
	e := newEnv(t)
	e.ok("init", "--demo")
	e.ok("import", e.writeFile("a.json", bundleJS()))
	e.ok("import", e.writeFile("b.json", secondBundle("beta")))
	e.ok("key", "add", "acme", "--alg", "ES256")
	e.ok("key", "add", "acme", "--alg", "EdDSA")
	e.ok("key", "add", "acme")
	e.ok("key", "activate", "acme", "k2")
	e.ok("key", "retire", "acme", "k1")
	e.runIn("STDIN-SECRET-scan-77\n", "secret", "put", "acme", "scan", "--apps", "com.example.shop")
	e.ok("deployment", "rotate", "nonce")
	// A debug token is printed once, by the add that makes it (not
	// collected, as export --reveal-secrets is not), and nowhere else.
	var tokOut strings.Builder
	if code := e.cfg.Main(context.Background(), []string{"--store", e.url, "debug-token", "add", "acme", "com.example.shop", "ci", "--secrets"},
		strings.NewReader(""), &tokOut, &tokOut); code != ExitOK {
		t.Fatalf("debug-token add: %d %s", code, tokOut.String())
	}
	debugTok, _, _ := strings.Cut(tokOut.String(), "\n")
	e.ok("debug-token", "add", "acme", "com.example.shop", "emulator")
	e.ok("debug-token", "revoke", "acme", "com.example.shop", "emulator")
	e.run("debug-token", "add", "acme", "com.example.shop", "ci")
	e.run("debug-token", "revoke", "acme", "com.example.shop", "nope")
	e.ok("app", "enforcement", "com.example.shop", "monitor")
	e.ok("account", "add", "gamma")
	e.ok("account", "add", "gamma-es", "--alg", "ES256", "--ttl", "10m", "--annotate")
	e.ok("account", "add", "gamma-ed", "--alg", "EdDSA", "--kid", "ed1")
	e.ok("app", "add", "gamma", "com.gamma", "--platform", "android", "--signer", digestB64u("g-signer"), "--version", "1", "--code-digest", digestB64u("g-code"))
	e.ok("app", "version", "add", "gamma", "com.gamma", "2", "--code-digest", digestB64u("g-code-2"))
	e.ok("key", "show-secret", "gamma", "k1")
	e.run("key", "show-secret", "gamma-es", "k1")
	e.run("account", "add", "gamma")
	for _, args := range [][]string{
		{"export"}, {"list", "accounts"}, {"list", "apps"}, {"list", "bans"}, {"get", "account", "acme"},
		{"get", "account", "demo"}, {"key", "list", "acme"}, {"secret", "list", "acme"}, {"pin", "list", "acme"},
		{"deployment", "show"}, {"help"}, {"debug-token", "list"}, {"debug-token", "list", "acme"}, {"help", "debug-token", "add"},
	} {
		e.ok(args...)
	}
	// Failing paths that handle secrets.
	bad := strings.Replace(bundleJS(), `"kid": "k1"`, `"kid": "k1", "extra": 1`, 1)
	e.run("import", e.writeFile("bad1.json", bad))
	e.run("import", e.writeFile("bad2.json", strings.Replace(bundleJS(), `"status": "active"`, `"status": "nope"`, 1)))
	e.run("import", e.writeFile("bad3.json", strings.Replace(bundleJS(), `"apps": ["com.example.shop"]`, `"apps": ["ghost"]`, 1)))
	e.run("import", e.writeFile("bad4.json", strings.Replace(bundleJS(), hsSecret("Q"), hsSecret("Q")+"!", 1)))
	e.runIn("STDIN-SECRET-scan-78", "secret", "put", "acme", "bad name!")
	e.runIn("STDIN-SECRET-scan-79", "secret", "put", "ghost", "x")
	e.run("key", "retire", "acme", "k2")

	// Everything secret, from the store itself.
	rev := e.ok("export", "--reveal-secrets").stdout
	b, err := model.DecodeBundle(strings.NewReader(rev))
	if err != nil {
		t.Fatal(err)
	}
	var secrets []secret.Value
	for _, a := range b.Accounts {
		for _, k := range a.Keys {
			secrets = append(secrets, k.Secret, k.PrivateKey)
		}
		for _, s := range a.Secrets {
			secrets = append(secrets, s.Value)
		}
	}
	for _, s := range []string{"STDIN-SECRET-scan-77", "STDIN-SECRET-scan-78", "STDIN-SECRET-scan-79", hsSecret("Q"), hsSecret("W")} {
		secrets = append(secrets, secret.FromString(s))
	}
	mk, err := os.ReadFile(filepath.Join(e.dir, "master.key"))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(mk), "\n") {
		if kid, k, ok := strings.Cut(line, ":"); ok && !strings.HasPrefix(line, "#") && kid != "" {
			secrets = append(secrets, secret.FromString(k))
		}
	}
	st, kr, err := open.Open(context.Background(), e.url, open.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	snap, _ := st.Load(context.Background())
	reg, err := state.DecodeAll(snap, kr)
	if err != nil {
		t.Fatal(err)
	}
	d := reg.Deployment
	for _, ks := range []state.KeySet{d.Nonce, d.Receipt, d.TLSSessionTickets} {
		for _, v := range ks.Keys {
			secrets = append(secrets, v)
		}
	}
	secrets = append(secrets, d.QUICToken, d.QUICStatelessReset, d.DebugToken, secret.FromString(debugTok),
		secret.FromString(debugTok[len(debugtoken.Prefix):]))
	for k := range reg.DebugTokens { // the MACs the store keeps
		secrets = append(secrets, secret.FromString(strings.TrimPrefix(k, state.DebugTokensPrefix)))
	}

	all := strings.Join(e.outs.all, "\n")
	if len(all) < 1000 {
		t.Fatalf("collected only %d bytes of output", len(all))
	}
	checked := 0
	for _, s := range secrets {
		if s.IsZero() {
			continue
		}
		for _, form := range forms(s.Reveal()) {
			if len(form) >= 12 && strings.Contains(all, form) {
				t.Errorf("a secret appears in attestctl output (form of %d bytes)", len(form))
			}
		}
		checked++
	}
	if checked < 15 {
		t.Fatalf("only %d secrets checked", checked)
	}
}

// forms returns a secret as given and, when it is base64, its raw bytes in
// the usual encodings.
func forms(v []byte) []string {
	out := []string{string(v)}
	raw, err := base64.StdEncoding.DecodeString(string(v))
	if err != nil {
		raw = v
	}
	return append(out, string(raw), hex.EncodeToString(raw), base64.StdEncoding.EncodeToString(raw),
		base64.RawURLEncoding.EncodeToString(raw), base64.RawStdEncoding.EncodeToString(raw))
}
