package ctl

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/attestd/attestd/crypto/envelope"
)

// shellWords has /bin/sh split line into words, as a user's shell would
// when the line is pasted: the shell, not this package, judges the quoting.
func shellWords(t *testing.T, line string) []string {
	t.Helper()
	out, err := exec.Command("/bin/sh", "-c", "for w in "+line+"; do printf '%s\\0' \"$w\"; done").Output()
	if err != nil {
		t.Fatalf("sh: %q: %v", line, err)
	}
	w := strings.Split(string(out), "\x00")
	return w[:len(w)-1]
}

// hintAfter returns the rest of the first line of out that holds marker,
// after it (trimmed).
func hintAfter(t *testing.T, out, marker string) string {
	t.Helper()
	for _, line := range strings.Split(out, "\n") {
		if _, rest, ok := strings.Cut(line, marker); ok {
			return strings.TrimSpace(rest)
		}
	}
	t.Fatalf("no %q in:\n%s", marker, out)
	return ""
}

// pasted runs a printed attestctl hint as a user who pastes it would: the
// shell splits it, and attestctl gets the words after its name, with no
// --store added.
func (e *env) pasted(line string) result {
	e.t.Helper()
	words := shellWords(e.t, line)
	if len(words) == 0 || words[0] != "attestctl" {
		e.t.Fatalf("hint %q does not run attestctl", line)
	}
	var out, errb bytes.Buffer
	code := e.cfg.Main(context.Background(), words[1:], strings.NewReader(""), &out, &errb)
	res := result{code: code, stdout: out.String(), stderr: errb.String()}
	if code != ExitOK {
		e.t.Fatalf("hint %q: exit %d: %s", line, code, res.stderr)
	}
	return res
}

// TestMistypedStoreIsNeverCreated: every command but init (and those that
// touch no store: master-key new), run on a store
// that does not exist (a mistyped --store, the wrong directory), fails,
// says so with the command that would create it, and leaves nothing
// behind; export no longer prints an empty registry as if all were well.
func TestMistypedStoreIsNeverCreated(t *testing.T) {
	e := newBareEnv(t)
	bundle := e.writeFile("b.json", bundleJS())
	for _, c := range commands() {
		if c.createsStore || c.storeless {
			continue
		}
		args := strings.Fields(c.name)
		for i := 0; i < c.minArgs; i++ {
			args = append(args, "x")
		}
		r := e.runIn("value", args...)
		if r.code == ExitOK {
			t.Errorf("%s on a missing store: exit 0: %s", c.name, r.stdout)
		}
		if _, err := os.Stat(e.dir); !os.IsNotExist(err) {
			t.Fatalf("%s on a missing store created %s (%v)", c.name, e.dir, err)
		}
	}
	for _, args := range [][]string{
		{"export"}, {"list", "apps"}, {"get", "app", "x"}, {"import", bundle}, {"key", "add", "acme"},
		{"account", "add", "acme"}, {"master-key", "show"}, {"deployment", "show"}, {"ban", "add", digestB64u("d")},
		{"app", "add", "acme", "com.x", "--platform", "android", "--signer", digestB64u("s"), "--version", "1", "--code-digest", digestB64u("c")},
	} {
		r := e.fail(ExitFailure, args, "no store at "+e.url, "attestctl --store "+e.url+" init")
		if r.stdout != "" {
			t.Errorf("%v printed %q on a missing store", args, r.stdout)
		}
	}
	// The hint creates it, and then the same commands work.
	e.pasted(hintAfter(t, e.run("export").stderr, "create this one with: "))
	e.ok("export")
	e.ok("import", bundle)

	// A store directory without its master key is refused too, rather than
	// given a new key under which its secrets do not open.
	if err := os.Remove(filepath.Join(e.dir, "master.key")); err != nil {
		t.Fatal(err)
	}
	e.fail(ExitFailure, []string{"list", "accounts"}, "no master key", "--master-key")
	if _, err := os.Stat(filepath.Join(e.dir, "master.key")); !os.IsNotExist(err) {
		t.Fatal("a master key was created for a store that had one")
	}
}

// TestPrintedHintRunsAsPrinted: the commands attestctl prints carry the
// --store and --master-key of the invocation, quoted for the shell, and do
// what they say when pasted: here for a store whose path holds a space and
// a quote, with its master key outside it.
func TestPrintedHintRunsAsPrinted(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "my store's data")
	mk := filepath.Join(t.TempDir(), "master $key")
	kf, err := envelope.NewKeyFile("m1", rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(mk, kf, 0o600); err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, dir: dir, url: "file://" + dir, outs: &outputs{}, cfg: Config{Program: "attestctl"}}
	run := func(args ...string) result {
		return e.ok(append([]string{"--master-key", mk}, args...)...)
	}
	// init says how to serve the store: attestd with the same flags.
	serve := shellWords(t, hintAfter(t, run("init").stdout, "serve it with: "))
	if want := []string{"attestd", "--store", e.url, "--master-key", mk}; strings.Join(serve, "\x00") != strings.Join(want, "\x00") {
		t.Fatalf("serve hint %q, want %q", serve, want)
	}
	out := run("account", "add", "acme").stdout
	secret := e.pasted(hintAfter(t, out, "backends need it to verify tokens: ")).stdout
	if raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(secret)); err != nil || len(raw) != 32 {
		t.Fatalf("key show-secret printed %d bytes (%v)", len(secret), err)
	}
	if strings.Contains(out, strings.TrimSpace(secret)) {
		t.Fatal("account add printed the secret")
	}
	hs := run("key", "add", "acme", "--alg", "HS256").stdout
	if got := e.pasted(hintAfter(t, hs, "give backends its secret first: ")).stdout; len(strings.TrimSpace(got)) != 44 {
		t.Fatalf("the new HS256 key's show-secret hint printed %q", got)
	}
	es := run("key", "add", "acme", "--alg", "ES256").stdout
	if !strings.Contains(es, "within its max-age") {
		t.Fatalf("key add ES256 does not say to wait for the JWKS max-age:\n%s", es)
	}
	e.pasted(hintAfter(t, es, "make it sign with: "))
	if out := run("key", "list", "acme").stdout; !strings.Contains(out, `"kid": "k3",
    "alg": "ES256",
    "status": "active"`) {
		t.Fatalf("after the pasted key activate: %s", out)
	}
	run("app", "add", "acme", "com.acme", "--platform", "android", "--signer", digestB64u("s"), "--version", "1", "--code-digest", digestB64u("c"))
	r := e.fail(ExitUsage, []string{"--master-key", mk, "app", "remove", "acme", "com.acme"}, "nothing removed")
	e.pasted(hintAfter(t, r.stderr, "to remove it, run: "))
	e.fail(ExitFailure, []string{"--master-key", mk, "get", "app", "com.acme"}, "not found")
}

// TestHelpForEveryCommandAndGroup: every command has help of its own, every
// group ("key", "app version") lists its commands under 'help GROUP' and
// when run without a subcommand, and 'help try' shows try's help.
func TestHelpForEveryCommandAndGroup(t *testing.T) {
	e := newBareEnv(t)
	for _, c := range commands() {
		if strings.TrimSpace(c.help) == "" {
			t.Errorf("%s has no help text", c.name)
		}
		r := e.run(append([]string{"help"}, strings.Fields(c.name)...)...)
		if r.code != ExitOK || !strings.Contains(r.stdout, "usage: attestctl "+c.name) || !strings.Contains(r.stdout, strings.TrimSpace(c.help)[:20]) {
			t.Errorf("help %s: exit %d: %q", c.name, r.code, r.stdout)
		}
	}
	gs := groups()
	if len(gs) < 10 {
		t.Fatalf("only %d groups", len(gs))
	}
	for _, g := range gs {
		words := strings.Fields(g.name)
		h := e.run(append([]string{"help"}, words...)...)
		bare := e.run(words...)
		if h.code != ExitOK || bare.code != ExitUsage || !strings.Contains(bare.stderr, "needs a subcommand") {
			t.Errorf("group %s: help exit %d, bare exit %d %q", g.name, h.code, bare.code, bare.stderr)
		}
		if groupSummaries[g.name] == "" {
			t.Errorf("group %s has no summary", g.name)
		}
		for _, c := range g.commands {
			if !strings.Contains(h.stdout, c.name) || !strings.Contains(bare.stderr, c.name) {
				t.Errorf("help %s does not list %s", g.name, c.name)
			}
		}
	}
	if r := e.run("key", "spin"); r.code != ExitUsage || !strings.Contains(r.stderr, `unknown command "key spin"`) || !strings.Contains(r.stderr, "key activate") {
		t.Errorf("key spin: %d %q", r.code, r.stderr)
	}
	e.cfg.Try = func(_ context.Context, args []string, env TryEnv) int {
		if len(args) != 1 || args[0] != "-h" {
			t.Errorf("help try asked try with %q", args)
		}
		io.WriteString(env.Stdout, "usage: attestctl try")
		return ExitOK
	}
	if r := e.run("help", "try"); r.code != ExitOK || r.stdout != "usage: attestctl try" {
		t.Errorf("help try: %d %q %q", r.code, r.stdout, r.stderr)
	}
}

// TestRegisterFromCommandLine: account add and app add make records that
// export as a bundle would hold them; digests are taken in the forms the
// tools print; versions come and go; every refusal names the argument or
// flag at fault and writes nothing.
func TestRegisterFromCommandLine(t *testing.T) {
	e := newEnv(t)
	e.ok("account", "add", "acme", "--ttl", "2m", "--annotate")
	signer := digestB64u("signer")
	raw, _ := base64.RawURLEncoding.DecodeString(signer)
	colons := strings.ToUpper(hex.EncodeToString(raw))
	var hexWithColons []string
	for i := 0; i < len(colons); i += 2 {
		hexWithColons = append(hexWithColons, colons[i:i+2])
	}
	code := digestB64u("code")
	codeRaw, _ := base64.RawURLEncoding.DecodeString(code)
	out := e.ok("app", "add", "acme", "com.acme.app", "--platform", "android", "--signer", strings.Join(hexWithColons, ":"),
		"--signer", base64.StdEncoding.EncodeToString(raw), "--version", "1.0", "--code-digest", hex.EncodeToString(codeRaw),
		"--allow-emulator").stdout
	if !strings.Contains(out, "try --app com.acme.app --platform android --signer "+signer+" --version 1.0 --code-digest "+code) {
		t.Errorf("app add hint: %s", out)
	}
	var app struct {
		Account  string
		Platform string
		Signers  []string
		Versions map[string]string
		Policy   map[string]any
	}
	if err := json.Unmarshal([]byte(e.ok("get", "app", "com.acme.app").stdout), &app); err != nil {
		t.Fatal(err)
	}
	if app.Account != "acme" || len(app.Signers) != 2 || app.Signers[0] != signer || app.Signers[1] != signer ||
		app.Versions["1.0"] != code || app.Policy["allow_emulator"] != true {
		t.Fatalf("stored app %+v", app)
	}
	var acc struct {
		Token struct {
			TTL      int
			Annotate bool
		}
	}
	if err := json.Unmarshal([]byte(e.ok("get", "account", "acme").stdout), &acc); err != nil || acc.Token.TTL != 120 || !acc.Token.Annotate {
		t.Fatalf("stored account %+v %v", acc, err)
	}
	e.ok("app", "version", "add", "acme", "com.acme.app", "1.1", "--code-digest", digestB64u("code-1.1"))
	e.ok("app", "version", "add", "acme", "com.acme.app", "1.1", "--code-digest", digestB64u("code-1.1")) // the same again
	e.fail(ExitFailure, []string{"app", "version", "add", "acme", "com.acme.app", "1.1", "--code-digest", digestB64u("other")}, "another code digest")
	e.ok("app", "version", "remove", "acme", "com.acme.app", "1.0")
	e.fail(ExitFailure, []string{"app", "version", "remove", "acme", "com.acme.app", "1.1"}, "only version")
	e.fail(ExitFailure, []string{"app", "version", "add", "other", "com.acme.app", "2", "--code-digest", code}, "not found")

	before := e.stateBytes()
	app1 := []string{"app", "add", "acme", "com.new"}
	for _, c := range []struct {
		code int
		args []string
		want string
	}{
		{ExitUsage, []string{"account", "add", "bad id"}, "ACCOUNT"},
		{ExitUsage, []string{"account", "add", "x", "--alg", "RS256"}, "--alg"},
		{ExitUsage, []string{"account", "add", "x", "--ttl", "5s"}, "--ttl"},
		{ExitUsage, []string{"account", "add", "x", "--ttl", "90.5s"}, "--ttl"},
		{ExitUsage, []string{"account", "add", "x", "--kid", "a/b"}, "--kid"},
		{ExitFailure, []string{"account", "add", "acme"}, "exists already"},
		{ExitUsage, append(app1, "--signer", signer, "--version", "1", "--code-digest", code), "--platform"},
		{ExitUsage, append(app1, "--platform", "windows", "--signer", signer, "--version", "1", "--code-digest", code), "--platform"},
		{ExitUsage, append(app1, "--platform", "ios", "--signer", signer, "--version", "1", "--code-digest", code), "--team-id"},
		{ExitUsage, append(app1, "--platform", "android", "--team-id", "T", "--signer", signer, "--version", "1", "--code-digest", code), "--team-id"},
		{ExitUsage, append(app1, "--platform", "android", "--version", "1", "--code-digest", code), "--signer"},
		{ExitUsage, append(app1, "--platform", "android", "--signer", "abc", "--version", "1", "--code-digest", code), "-signer"},
		{ExitUsage, append(app1, "--platform", "android", "--signer", signer, "--code-digest", code), "--version"},
		{ExitUsage, append(app1, "--platform", "android", "--signer", signer, "--version", "1"), "--code-digest"},
		{ExitUsage, append(app1, "--platform", "android", "--signer", signer, "--version", "1", "--code-digest", code[:40]), "-code-digest"},
		{ExitUsage, append(app1, "--platform", "android", "--signer", signer, "--version", "1", "--code-digest", code, "--android-min-security", "hw"), "--android-min-security"},
		{ExitUsage, []string{"app", "add", "acme", "bad/id", "--platform", "android", "--signer", signer, "--version", "1", "--code-digest", code}, "APP"},
		{ExitFailure, []string{"app", "add", "ghost", "com.new", "--platform", "android", "--signer", signer, "--version", "1", "--code-digest", code}, `account "ghost"`},
		{ExitFailure, []string{"app", "add", "acme", "com.acme.app", "--platform", "android", "--signer", signer, "--version", "1", "--code-digest", code}, "exists already"},
	} {
		r := e.fail(c.code, c.args, c.want)
		if strings.Contains(r.stderr, "invalid bundle") {
			t.Errorf("%v: speaks of a bundle: %s", c.args, r.stderr)
		}
	}
	if !bytes.Equal(before, e.stateBytes()) {
		t.Fatal("a refused command wrote")
	}
	// An iOS app with its team id.
	e.ok("app", "add", "acme", "com.acme.ios", "--platform", "ios", "--team-id", "TEAM123456", "--signer", signer, "--version", "7", "--code-digest", code)
}

// TestKeyShowSecret prints an HS256 key's secret, exactly the stored one,
// and only when asked by name; an asymmetric key has none to print.
func TestKeyShowSecret(t *testing.T) {
	e := newEnv(t)
	e.ok("import", e.writeFile("a.json", bundleJS()))
	r := e.ok("key", "show-secret", "acme", "k1")
	if strings.TrimSpace(r.stdout) != hsSecret("Q") || !strings.Contains(r.stderr, "mint") {
		t.Fatalf("show-secret: %q %q", r.stdout, r.stderr)
	}
	e.ok("key", "add", "acme", "--alg", "ES256")
	e.fail(ExitFailure, []string{"key", "show-secret", "acme", "k2"}, "no shared secret", "key list acme")
	e.fail(ExitFailure, []string{"key", "show-secret", "acme", "k9"}, "not found")
}

// FuzzParseDigest: a digest argument is b64u of 32 bytes once parsed, or
// refused; parsing what it returns gives it back.
func FuzzParseDigest(f *testing.F) {
	for _, s := range []string{digestB64u("x"), digestB64("x"), strings.Repeat("ab", 32), strings.Repeat("AB:", 31) + "AB",
		"", "=", strings.Repeat("A", 43), strings.Repeat("A", 44), strings.Repeat("0", 300), "  " + digestB64u("y") + "\t", "zz"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := ParseDigest(s)
		if err != nil {
			return
		}
		raw, derr := base64.RawURLEncoding.Strict().DecodeString(v)
		if derr != nil || len(raw) != 32 {
			t.Fatalf("ParseDigest(%q) = %q", s, v)
		}
		if again, err := ParseDigest(v); err != nil || again != v {
			t.Fatalf("ParseDigest(%q) = %q, %v", v, again, err)
		}
	})
}
