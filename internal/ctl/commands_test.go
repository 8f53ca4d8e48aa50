package ctl

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"io"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/attestd/attestd/internal/model"
)

type keyRow struct {
	KID, Alg, Status string
	PublicKey        string `json:"public_key"`
}

func (e *env) keys(account string) string {
	e.t.Helper()
	var rows []keyRow
	if err := json.Unmarshal([]byte(e.ok("key", "list", account).stdout), &rows); err != nil {
		e.t.Fatal(err)
	}
	var parts []string
	for _, k := range rows {
		s := k.KID + ":" + k.Alg + ":" + k.Status
		if k.PublicKey != "" {
			s += ":pub"
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, ",")
}

func TestKeyRotationFlow(t *testing.T) {
	e := newEnv(t)
	e.ok("import", e.writeFile("a.json", bundleJS()))
	if r := e.ok("key", "add", "acme", "--alg", "ES256"); !strings.Contains(r.stdout, "key k2") || !strings.Contains(r.stdout, "key activate acme k2") {
		t.Errorf("key add said %q", r.stdout)
	}
	e.ok("key", "add", "--alg=EdDSA", "acme", "--kid", "ed-1")
	e.ok("key", "add", "acme")
	if got, want := e.keys("acme"), "k1:HS256:active,k2:ES256:verify:pub,ed-1:EdDSA:verify:pub,k3:HS256:verify"; got != want {
		t.Fatalf("keys %s, want %s", got, want)
	}
	e.ok("key", "activate", "acme", "k2")
	if got, want := e.keys("acme"), "k1:HS256:verify,k2:ES256:active:pub,ed-1:EdDSA:verify:pub,k3:HS256:verify"; got != want {
		t.Fatalf("after activate: %s", got)
	}
	e.ok("key", "retire", "acme", "k1")
	if got, want := e.keys("acme"), "k1:HS256:retired,k2:ES256:active:pub,ed-1:EdDSA:verify:pub,k3:HS256:verify"; got != want {
		t.Fatalf("after retire: %s", got)
	}
	e.fail(ExitFailure, []string{"key", "retire", "acme", "k2"}, "active key")
	e.fail(ExitFailure, []string{"key", "activate", "acme", "k1"}, "retired")
	e.fail(ExitFailure, []string{"key", "activate", "acme", "k9"}, "not found")
	e.fail(ExitFailure, []string{"key", "add", "acme", "--kid", "k2"}, "already has")
	e.fail(ExitFailure, []string{"key", "add", "nobody"}, "not found")
	e.fail(ExitUsage, []string{"key", "add", "acme", "--alg", "RS256"}, "--alg")
	e.fail(ExitUsage, []string{"key", "add", "acme", "--kid", "a/b"}, "--kid")
	// The generated keys are valid (a full import re-validates them).
	rev := e.ok("export", "--reveal-secrets").stdout
	b, err := model.DecodeBundle(strings.NewReader(rev))
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Validate(); err != nil {
		t.Fatal(err)
	}
}

// selfSigned returns a PEM certificate and the PEM of its public key.
func selfSigned(t *testing.T, host string) (certPEM, pubPEM []byte, pin string) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: host}, DNSNames: []string{host},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	spki, _ := x509.MarshalPKIXPublicKey(&k.PublicKey)
	sum := sha256.Sum256(spki)
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: spki}),
		base64.StdEncoding.EncodeToString(sum[:])
}

func TestPins(t *testing.T) {
	e := newEnv(t)
	e.ok("import", e.writeFile("a.json", bundleJS()))
	cert1, _, pin1 := selfSigned(t, "pay.example.com")
	_, pub2, pin2 := selfSigned(t, "pay.example.com")
	c1, p2 := e.writeFile("c1.pem", string(cert1)), e.writeFile("p2.pem", string(pub2))

	// A single pin is refused; nothing written.
	before := e.stateBytes()
	e.fail(ExitFailure, []string{"pin", "add", "acme", "pay.example.com", c1}, "single pin", "--force")
	if !bytes.Equal(before, e.stateBytes()) {
		t.Fatal("refused pin add wrote")
	}
	e.ok("pin", "add", "acme", "Pay.Example.com", c1, p2)
	var pins map[string][]string
	if err := json.Unmarshal([]byte(e.ok("pin", "list", "acme").stdout), &pins); err != nil {
		t.Fatal(err)
	}
	if got := pins["pay.example.com"]; len(got) != 2 || got[0] != pin1 || got[1] != pin2 {
		t.Fatalf("pins %v, want [%s %s]", got, pin1, pin2)
	}
	e.fail(ExitFailure, []string{"pin", "remove", "acme", "pay.example.com", pin1}, "single pin")
	e.ok("pin", "remove", "acme", "pay.example.com", pin1, "--force")
	e.ok("pin", "remove", "acme", "pay.example.com", p2)
	if out := e.ok("pin", "list", "acme").stdout; strings.Contains(out, "pay.example.com") {
		t.Fatalf("host still pinned: %s", out)
	}
	e.ok("pin", "add", "--force", "acme", "solo.example.com", c1)

	// Files that are not one certificate or public key.
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der, _ := x509.MarshalPKCS8PrivateKey(key)
	priv := e.writeFile("k.pem", string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})))
	e.fail(ExitFailure, []string{"pin", "add", "acme", "x.example.com", priv, c1}, "private key")
	e.fail(ExitFailure, []string{"pin", "add", "acme", "x.example.com", e.writeFile("two.pem", string(cert1)+string(pub2)), c1}, "one per file")
	e.fail(ExitFailure, []string{"pin", "add", "acme", "x.example.com", e.writeFile("junk.pem", "hello"), c1}, "no PEM")
	e.fail(ExitUsage, []string{"pin", "add", "acme", "x.example.com"}, "wrong number")
}

func TestSecrets(t *testing.T) {
	e := newEnv(t)
	e.ok("import", e.writeFile("a.json", bundleJS()))
	const v1, v2 = "STDIN-SECRET-value-42", "FILE-SECRET-value-43"
	if r := e.runIn(v1+"\n", "secret", "put", "acme", "new_key", "--apps", "com.example.shop"); r.code != 0 {
		t.Fatalf("secret put: %s", r.stderr)
	}
	rev := e.ok("export", "--reveal-secrets").stdout
	if !strings.Contains(rev, `"value": "`+v1+`"`) {
		t.Fatalf("stdin value not stored exactly (newline trimmed): %s", rev)
	}
	e.ok("secret", "put", "acme", "new_key", "--value-file", e.writeFile("v", v2))
	var list []struct {
		Name string
		Apps []string
	}
	if err := json.Unmarshal([]byte(e.ok("secret", "list", "acme").stdout), &list); err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[1].Name != "new_key" || len(list[1].Apps) != 1 {
		t.Fatalf("secret list (apps kept without --apps): %+v", list)
	}
	if rev := e.ok("export", "--reveal-secrets").stdout; !strings.Contains(rev, v2) || strings.Contains(rev, v1) {
		t.Fatal("value not replaced")
	}
	e.ok("secret", "assign", "acme", "new_key", "--apps", "")
	e.fail(ExitUsage, []string{"secret", "assign", "acme", "new_key"}, "--apps")
	e.fail(ExitFailure, []string{"secret", "assign", "acme", "new_key", "--apps", "ghost.app"}, "ghost.app")
	// Refusals worded for the command, not for a bundle nobody gave.
	for _, r := range []result{
		e.fail(ExitFailure, []string{"secret", "delete", "acme", "maps_api_key"}, `injected by proxied API "maps"`, "attestctl --store "+e.url+" api remove acme maps"),
		e.runIn("value", "secret", "put", "acme", "x", "--apps", "ghost.app"),
	} {
		if r.code != ExitFailure {
			t.Errorf("exit %d: %s", r.code, r.stderr)
		}
		if strings.Contains(r.stderr, "invalid bundle") || strings.Contains(r.stderr, "accounts[") {
			t.Errorf("refusal speaks of a bundle: %s", r.stderr)
		}
	}
	if r := e.runIn("value", "secret", "put", "acme", "x", "--apps", "ghost.app"); !strings.Contains(r.stderr, `account "acme" has no app "ghost.app" (its apps: com.example.shop)`) {
		t.Errorf("secret put for an unknown app: %s", r.stderr)
	}
	e.ok("secret", "delete", "acme", "new_key")
	e.fail(ExitFailure, []string{"secret", "delete", "acme", "new_key"}, "not found")
	if r := e.runIn("", "secret", "put", "acme", "empty"); r.code != ExitFailure || !strings.Contains(r.stderr, "empty") {
		t.Fatalf("empty value: %d %s", r.code, r.stderr)
	}
	if r := e.runIn(strings.Repeat("x", model.MaxSecretBytes+1), "secret", "put", "acme", "big"); r.code != ExitFailure || !strings.Contains(r.stderr, "larger") {
		t.Fatalf("big value: %d %s", r.code, r.stderr)
	}
}

func TestBansDeploymentInit(t *testing.T) {
	e := newEnv(t)
	r := e.ok("init", "--demo")
	if !strings.Contains(r.stdout, "DEMO") || !strings.Contains(r.stdout, "com.example.demo") {
		t.Errorf("init --demo said %q", r.stdout)
	}
	if r := e.ok("init", "--demo"); !strings.Contains(r.stdout, "already there") {
		t.Errorf("second init --demo said %q", r.stdout)
	}
	before := e.stateBytes()
	e.ok("init")
	if !bytes.Equal(before, e.stateBytes()) {
		t.Fatal("init on a ready store wrote")
	}
	did := digestB64u("bad-device")
	e.ok("ban", "add", did)
	if out := e.ok("list", "bans").stdout; !strings.Contains(out, did) {
		t.Fatalf("bans: %s", out)
	}
	e.ok("ban", "remove", did)
	e.fail(ExitFailure, []string{"ban", "remove", did}, "not banned")
	e.fail(ExitFailure, []string{"ban", "add", "nope"}, "bans.devices[0]")

	if r := e.ok("deployment", "rotate", "nonce"); !strings.Contains(r.stdout, "nonce key n2 is active") {
		t.Errorf("rotate said %q", r.stdout)
	}
	e.ok("deployment", "rotate", "receipt")
	e.ok("deployment", "rotate", "tls")
	var show map[string]struct {
		Active string
		Keys   []string
	}
	if err := json.Unmarshal([]byte(e.ok("deployment", "show").stdout), &show); err != nil {
		t.Fatal(err)
	}
	if show["nonce"].Active != "n2" || len(show["nonce"].Keys) != 2 || show["receipt"].Active != "r2" || show["tls"].Active != "t2" {
		t.Fatalf("deployment show: %+v", show)
	}
	e.fail(ExitFailure, []string{"deployment", "remove-key", "nonce", "n2"}, "active")
	e.ok("deployment", "remove-key", "nonce", "n1")
	e.fail(ExitUsage, []string{"deployment", "rotate", "tokens"}, "nonce, receipt or tls")
}

func TestUsageHelpAndTry(t *testing.T) {
	e := newEnv(t)
	for _, args := range [][]string{{"frobnicate"}, {"key"}, {"key", "spin"}, {"export", "--bogus"}, {"get", "account"}, {"--timeout", "0s", "list", "apps"}} {
		if r := e.run(args...); r.code != ExitUsage {
			t.Errorf("%v: exit %d, want %d (%s)", args, r.code, ExitUsage, r.stderr)
		}
	}
	var out, errb bytes.Buffer
	if code := Main(context.Background(), nil, strings.NewReader(""), &out, &errb); code != ExitUsage || !strings.Contains(errb.String(), "Commands:") {
		t.Errorf("no args: %d %q", code, errb.String())
	}
	if r := e.run("help"); r.code != 0 || !strings.Contains(r.stdout, "key activate") {
		t.Errorf("help: %d", r.code)
	}
	if r := e.run("help", "pin", "add"); r.code != 0 || !strings.Contains(r.stdout, "--force") || !strings.Contains(r.stdout, "single pin") {
		t.Errorf("help pin add: %q", r.stdout)
	}
	if r := e.run("secret", "put", "-h"); r.code != 0 || !strings.Contains(r.stdout, "--value-file") {
		t.Errorf("secret put -h: %q", r.stdout)
	}
	if r := e.run("help", "nothing"); r.code != ExitUsage {
		t.Errorf("help nothing: %d", r.code)
	}
	// Every command has help that renders.
	for _, c := range commands() {
		if r := e.run(append(strings.Fields(c.name), "--help")...); r.code != 0 || !strings.Contains(r.stdout, "usage: attestctl "+c.name) {
			t.Errorf("%s --help: %d %q", c.name, r.code, r.stdout)
		}
	}
	if r := e.run("try"); r.code != ExitFailure || !strings.Contains(r.stderr, "not built") {
		t.Errorf("try without hook: %d %q", r.code, r.stderr)
	}
	var gotArgs []string
	e.cfg.Try = func(ctx context.Context, args []string, env TryEnv) int {
		gotArgs = args
		if _, ok := ctx.Deadline(); !ok {
			t.Error("try got no deadline")
		}
		io.WriteString(env.Stdout, "tried")
		return 7
	}
	if r := e.run("try", "--url", "http://x"); r.code != 7 || r.stdout != "tried" || strings.Join(gotArgs, " ") != "--url http://x" {
		t.Errorf("try: %d %q %v", r.code, r.stdout, gotArgs)
	}
	// An etcd store without the master key that seals its secrets.
	var o2, e2 bytes.Buffer
	if code := Main(context.Background(), []string{"--store", "etcd://127.0.0.1:2379/x", "list", "apps"}, strings.NewReader(""), &o2, &e2); code != ExitFailure || !strings.Contains(e2.String(), "--master-key") {
		t.Errorf("etcd: %d %q", code, e2.String())
	}
}
