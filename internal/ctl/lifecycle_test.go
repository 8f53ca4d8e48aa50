package ctl

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/attestd/attestd/crypto/envelope"
	"github.com/attestd/attestd/store"
	"github.com/attestd/attestd/store/open"
)

// stateRevision is the revision of the file store's state file.
func (e *env) stateRevision() int64 {
	e.t.Helper()
	var s struct{ Revision int64 }
	if err := json.Unmarshal(e.stateBytes(), &s); err != nil {
		e.t.Fatal(err)
	}
	return s.Revision
}

// lifecycleEnv is a store with acme (one app, secrets, an API) and beta
// (one app).
func lifecycleEnv(t *testing.T) *env {
	e := newEnv(t)
	e.ok("init")
	e.ok("import", e.writeFile("a.json", bundleJS()))
	e.ok("import", e.writeFile("b.json", secondBundle("beta")))
	return e
}

func TestAppRemove(t *testing.T) {
	e := lifecycleEnv(t)
	before := e.stateBytes()
	// Without --yes: says what would go, changes nothing.
	r := e.fail(ExitUsage, []string{"app", "remove", "acme", "com.example.shop"}, "--yes", "app com.example.shop of account acme", "maps_api_key")
	if !bytes.Equal(before, e.stateBytes()) {
		t.Fatal("app remove without --yes changed the store")
	}
	if r.stdout != "" {
		t.Errorf("stdout without --yes: %q", r.stdout)
	}
	// Not found, with or without --yes, naming what is missing.
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"app", "remove", "acme", "com.example.none", "--yes"}, `app "com.example.none" of account "acme"`},
		{[]string{"app", "remove", "acme", "com.example.none"}, `app "com.example.none" of account "acme"`},
		{[]string{"app", "remove", "acme", "app.beta", "--yes"}, `app "app.beta" of account "acme"`},
		{[]string{"app", "remove", "nobody", "com.example.shop", "--yes"}, `account "nobody"`},
	} {
		e.fail(ExitFailure, c.args, c.want, "not found")
	}
	e.fail(ExitUsage, []string{"app", "remove", "acme"})
	if !bytes.Equal(before, e.stateBytes()) {
		t.Fatal("a failed app remove changed the store")
	}
	rev := e.stateRevision()
	r = e.ok("app", "remove", "acme", "com.example.shop", "--yes")
	if !strings.Contains(r.stdout, "removed app com.example.shop of account acme") {
		t.Errorf("stdout: %q", r.stdout)
	}
	if got := e.stateRevision(); got != rev+1 {
		t.Errorf("revision %d -> %d: not one change", rev, got)
	}
	e.fail(ExitFailure, []string{"get", "app", "com.example.shop"}, "not found")
	// No orphan: the secret stays with the account, released to nobody.
	var secrets []secretInfo
	if err := json.Unmarshal([]byte(e.ok("secret", "list", "acme").stdout), &secrets); err != nil {
		t.Fatal(err)
	}
	if len(secrets) != 1 || secrets[0].Name != "maps_api_key" || len(secrets[0].Apps) != 0 {
		t.Errorf("secrets after: %+v", secrets)
	}
	if strings.Contains(string(e.stateBytes()), "com.example.shop") {
		t.Error("the store still names the removed app")
	}
	// The same id can be registered again.
	e.ok("import", e.writeFile("again.json", bundleJS()))
}

func TestAccountRemove(t *testing.T) {
	e := lifecycleEnv(t)
	e.ok("ban", "add", digestB64u("device-2"))
	before := e.stateBytes()
	e.fail(ExitUsage, []string{"account", "remove", "acme"}, "--yes", "account acme with 1 app (com.example.shop)", "1 proxied API (maps)")
	e.fail(ExitFailure, []string{"account", "remove", "nobody", "--yes"}, `account "nobody"`, "not found")
	e.fail(ExitFailure, []string{"account", "remove", "nobody"}, `account "nobody"`)
	e.fail(ExitUsage, []string{"account", "remove"})
	e.fail(ExitUsage, []string{"account", "remove", "acme", "extra", "--yes"})
	if !bytes.Equal(before, e.stateBytes()) {
		t.Fatal("a refused account remove changed the store")
	}
	rev := e.stateRevision()
	r := e.ok("account", "remove", "--yes", "acme")
	if !strings.Contains(r.stdout, "removed account acme with 1 app (com.example.shop)") {
		t.Errorf("stdout: %q", r.stdout)
	}
	if got := e.stateRevision(); got != rev+1 {
		t.Errorf("revision %d -> %d: not one change", rev, got)
	}
	st := string(e.stateBytes())
	for _, gone := range []string{`"accounts/acme"`, "com.example.shop", `"maps"`} {
		if strings.Contains(st, gone) {
			t.Errorf("the store still holds %s", gone)
		}
	}
	for _, kept := range []string{`"accounts/beta"`, `"apps/app.beta"`, digestB64u("device-1"), digestB64u("device-2")} {
		if !strings.Contains(st, kept) {
			t.Errorf("the store lost %s", kept)
		}
	}
	e.fail(ExitFailure, []string{"account", "remove", "acme", "--yes"}, `account "acme"`)
	e.fail(ExitFailure, []string{"app", "remove", "acme", "com.example.shop", "--yes"}, `account "acme"`)
	// The freed API name is free for another account.
	e.runIn("v", "secret", "put", "beta", "s")
	e.ok("api", "put", "beta", "maps", "--upstream", "https://m.example.org", "--secret", "s", "--header", "X-K")
}

// keyFileIDs parses the store's master key file: its kids in order.
func (e *env) keyFileIDs(path string) []string {
	e.t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		e.t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		e.t.Errorf("key file mode %v", fi.Mode().Perm())
	}
	b, _ := os.ReadFile(path)
	ks, err := envelope.ParseKeySet(b)
	if err != nil {
		e.t.Fatal(err)
	}
	return ks.IDs()
}

var sealedRE = regexp.MustCompile(`"v1:([A-Za-z0-9_-]+):`)

// sealedKIDs counts the sealed values of the state file by key id.
func (e *env) sealedKIDs() map[string]int {
	out := map[string]int{}
	for _, m := range sealedRE.FindAllStringSubmatch(string(e.stateBytes()), -1) {
		out[m[1]]++
	}
	return out
}

// revealed is the runtime secret as export --reveal-secrets reads it: the
// store opens with the key file and the value is intact.
func (e *env) revealed(args ...string) string {
	e.t.Helper()
	out := e.ok(append([]string{"export", "--reveal-secrets"}, args...)...).stdout
	if !strings.Contains(out, runtimeSecret) {
		e.t.Fatal("the runtime secret does not read back")
	}
	return out
}

// keyLines returns the key material of a key file, for the output scan.
func keyLines(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, line := range strings.Split(string(b), "\n") {
		if _, k, ok := strings.Cut(line, ":"); ok && !strings.HasPrefix(line, "#") {
			out = append(out, k)
		}
	}
	return out
}

func (e *env) assertNoKeyPrinted(keys []string) {
	e.t.Helper()
	all := strings.Join(e.outs.all, "\n")
	for _, k := range keys {
		for _, form := range forms([]byte(k)) {
			if len(form) >= 12 && strings.Contains(all, form) {
				e.t.Fatal("a master key appears in attestctl output")
			}
		}
	}
}

func TestMasterKeyRotateOneShot(t *testing.T) {
	e := lifecycleEnv(t)
	mk := filepath.Join(e.dir, "master.key")
	keys := keyLines(t, mk)
	n := e.sealedKIDs()["m1"]
	if n < 7 || len(e.sealedKIDs()) != 1 {
		t.Fatalf("sealed before: %v", e.sealedKIDs())
	}
	rev := e.stateRevision()
	r := e.ok("master-key", "rotate")
	for _, want := range []string{"master key m2 generated", fmt.Sprintf("%d sealed value(s) re-sealed under master key m2 in one change", n), "retired master key(s) m1"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("stdout %q lacks %q", r.stdout, want)
		}
	}
	if got := e.stateRevision(); got != rev+1 {
		t.Errorf("revision %d -> %d: not one change", rev, got)
	}
	if got := e.sealedKIDs(); len(got) != 1 || got["m2"] != n {
		t.Fatalf("sealed after: %v", got)
	}
	if ids := e.keyFileIDs(mk); !slices.Equal(ids, []string{"m2"}) {
		t.Fatalf("key file lists %v", ids)
	}
	e.revealed()
	var show struct {
		File     string
		Active   string
		Keys     []masterKeyInfo
		Unlisted map[string]int
	}
	if err := json.Unmarshal([]byte(e.ok("master-key", "show").stdout), &show); err != nil {
		t.Fatal(err)
	}
	if show.Active != "m2" || len(show.Keys) != 1 || show.Keys[0] != (masterKeyInfo{"m2", true, n, show.Keys[0].Tagged}) || show.Keys[0].Tagged == 0 || len(show.Unlisted) != 0 || show.File != mk {
		t.Errorf("show: %+v", show)
	}
	// Writes after the rotation seal under m2; a second rotation goes to m3.
	e.runIn("after-rotation", "secret", "put", "acme", "later")
	e.ok("master-key", "rotate")
	if ids := e.keyFileIDs(mk); !slices.Equal(ids, []string{"m3"}) {
		t.Fatalf("key file lists %v", ids)
	}
	if got := e.sealedKIDs(); len(got) != 1 || got["m3"] != n+1 {
		t.Fatalf("sealed after the second rotation: %v", got)
	}
	e.revealed()
	e.assertNoKeyPrinted(append(keys, keyLines(t, mk)...))
}

func TestMasterKeyStagedRotationAndRetire(t *testing.T) {
	e := lifecycleEnv(t)
	mk := filepath.Join(e.dir, "master.key")
	before := e.stateBytes()
	r := e.ok("master-key", "add")
	if !strings.Contains(r.stdout, "master key m2 added") || !strings.Contains(r.stdout, "rotate --to m2") {
		t.Errorf("stdout: %q", r.stdout)
	}
	if !bytes.Equal(before, e.stateBytes()) {
		t.Fatal("master-key add changed the store")
	}
	if ids := e.keyFileIDs(mk); !slices.Equal(ids, []string{"m1", "m2"}) {
		t.Fatalf("after add: %v", ids)
	}
	staged := filepath.Join(t.TempDir(), "staged.key") // a node's copy: m1 seals, m2 opens
	b, _ := os.ReadFile(mk)
	if err := os.WriteFile(staged, b, 0o600); err != nil {
		t.Fatal(err)
	}
	e.fail(ExitUsage, []string{"master-key", "add", "--kid", "m2"}, "already listed")
	e.fail(ExitUsage, []string{"master-key", "add", "--kid", "bad:id"})
	e.fail(ExitFailure, []string{"master-key", "rotate", "--to", "m9"}, `master key "m9" is not listed`)
	e.fail(ExitFailure, []string{"master-key", "retire", "m9"}, `master key "m9" is not listed`)
	e.fail(ExitFailure, []string{"master-key", "retire", "m1"}, "active key")
	if !bytes.Equal(before, e.stateBytes()) {
		t.Fatal("a refused master-key command changed the store")
	}
	e.ok("master-key", "rotate", "--to", "m2", "--keep-old")
	if ids := e.keyFileIDs(mk); !slices.Equal(ids, []string{"m2", "m1"}) {
		t.Fatalf("after rotate --keep-old: %v", ids)
	}
	// A writer still using the staged copy (m1 seals) writes meanwhile.
	e.runIn("late-writer", "--master-key", staged, "secret", "put", "acme", "late")
	late := e.sealedKIDs()["m1"] // the account record it rewrote
	if late == 0 {
		t.Fatal("the late writer sealed nothing under m1")
	}
	e.fail(ExitFailure, []string{"master-key", "retire", "m1"}, fmt.Sprintf("%d stored value(s) are still sealed under master key \"m1\"", late), "rotate --to m2")
	e.fail(ExitFailure, []string{"master-key", "retire", "m2"}, "active key")
	r = e.ok("master-key", "rotate", "--to", "m2")
	if !strings.Contains(r.stdout, fmt.Sprintf("%d sealed value(s) re-sealed", late)) || !strings.Contains(r.stdout, "retired master key(s) m1") {
		t.Errorf("stdout: %q", r.stdout)
	}
	if ids := e.keyFileIDs(mk); !slices.Equal(ids, []string{"m2"}) {
		t.Fatalf("after the second rotate: %v", ids)
	}
	if got := e.sealedKIDs(); len(got) != 1 || got["m2"] == 0 {
		t.Fatalf("sealed: %v", got)
	}
	// retire on a key no value uses.
	e.ok("master-key", "add", "--kid", "spare")
	e.ok("master-key", "retire", "spare")
	if ids := e.keyFileIDs(mk); !slices.Equal(ids, []string{"m2"}) {
		t.Fatalf("after retire: %v", ids)
	}
	e.revealed()
	e.assertNoKeyPrinted(append(keyLines(t, staged), keyLines(t, mk)...))
}

func TestMasterKeyUsageAndMissingFile(t *testing.T) {
	e := newBareEnv(t)
	e.fail(ExitFailure, []string{"master-key", "rotate"}, "no store at", "init")
	e.fail(ExitFailure, []string{"master-key", "add"}, "no store at")
	if _, err := os.Stat(e.dir); !os.IsNotExist(err) {
		t.Fatalf("a master-key command on a missing store created %s: %v", e.dir, err)
	}
	e.ok("init")
	e.fail(ExitUsage, []string{"master-key", "retire"})
	e.fail(ExitUsage, []string{"master-key", "show", "x"})
	var o, errb bytes.Buffer
	code := Main(context.Background(), []string{"--store", "etcd://127.0.0.1:1/x", "master-key", "add"}, strings.NewReader(""), &o, &errb)
	if code != ExitUsage || !strings.Contains(errb.String(), "--master-key") {
		t.Errorf("etcd without --master-key: %d %q", code, errb.String())
	}
	// A key file others can read is refused before anything is written.
	mk := filepath.Join(e.dir, "master.key")
	if err := os.Chmod(mk, 0o644); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(mk)
	e.fail(ExitFailure, []string{"master-key", "rotate"}, "chmod 600")
	if after, _ := os.ReadFile(mk); !bytes.Equal(before, after) {
		t.Fatal("key file rewritten")
	}
}

// TestMasterKeyRotateFailures stops the rotation after each durable step,
// as an error or a crash would: the store is all old or all new, the key
// file lists every key the store needs, and running rotate --to again
// finishes.
func TestMasterKeyRotateFailures(t *testing.T) {
	for _, step := range []string{"staged", "resealed", "activated", "retired"} {
		t.Run(step, func(t *testing.T) {
			e := lifecycleEnv(t)
			mk := filepath.Join(e.dir, "master.key")
			before := e.stateBytes()
			n := e.sealedKIDs()["m1"]
			e.cfg.afterStep = func(s string) error {
				if s == step {
					return errors.New("injected stop after " + s)
				}
				return nil
			}
			e.fail(ExitFailure, []string{"master-key", "rotate"}, "injected stop")
			e.cfg.afterStep = nil
			checkRotationPoint(t, e, mk, step, before, n)
		})
	}
}

// checkRotationPoint checks the store and key file left by a rotation
// stopped after step, then finishes it.
func checkRotationPoint(t *testing.T, e *env, mk, step string, before []byte, n int) {
	t.Helper()
	ids := e.keyFileIDs(mk)
	switch step {
	case "staged":
		if !bytes.Equal(before, e.stateBytes()) {
			t.Fatal("the store changed before the re-seal")
		}
		if !slices.Equal(ids, []string{"m1", "m2"}) {
			t.Fatalf("key file %v", ids)
		}
	case "resealed":
		if got := e.sealedKIDs(); len(got) != 1 || got["m2"] != n {
			t.Fatalf("sealed %v", got)
		}
		if !slices.Equal(ids, []string{"m1", "m2"}) {
			t.Fatalf("key file %v", ids)
		}
	case "activated":
		if !slices.Equal(ids, []string{"m2", "m1"}) {
			t.Fatalf("key file %v", ids)
		}
	case "retired":
		if !slices.Equal(ids, []string{"m2"}) {
			t.Fatalf("key file %v", ids)
		}
	}
	e.revealed() // everything opens with the key file as it is
	e.ok("master-key", "rotate", "--to", "m2")
	if ids := e.keyFileIDs(mk); !slices.Equal(ids, []string{"m2"}) {
		t.Fatalf("after finishing: key file %v", ids)
	}
	if got := e.sealedKIDs(); len(got) != 1 || got["m2"] != n {
		t.Fatalf("after finishing: sealed %v", got)
	}
	e.revealed()
}

func TestMasterKeyRotateRefusedReseal(t *testing.T) {
	e := lifecycleEnv(t)
	mk := filepath.Join(e.dir, "master.key")
	// A record this attestctl does not know, holding a sealed value,
	// written (authenticated) by a later version.
	m := sealedRE.FindString(string(e.stateBytes()))
	ctx := context.Background()
	ost, _, err := open.Open(ctx, e.url, open.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ost.Update(ctx, func(*store.Snapshot) (store.Changes, error) {
		return store.Changes{Put: map[string][]byte{"future/x": []byte(`{"v": ` + m + `AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}`)}}, nil
	}); err != nil {
		t.Fatal(err)
	}
	ost.Close()
	st := e.stateBytes()
	e.fail(ExitFailure, []string{"master-key", "rotate"}, `record "future/x"`, "nothing in the store changed", "rotate --to m2")
	if !bytes.Equal(st, e.stateBytes()) {
		t.Fatal("a refused re-seal changed the store")
	}
	if ids := e.keyFileIDs(mk); !slices.Equal(ids, []string{"m1", "m2"}) {
		t.Fatalf("key file %v", ids)
	}
	e.fail(ExitFailure, []string{"master-key", "retire", "m1"}, "active key")
}

const (
	envCrashDir  = "ATTESTCTL_TEST_CRASH_DIR"
	envCrashStep = "ATTESTCTL_TEST_CRASH_STEP"
)

// TestHelperProcess is a master-key rotate that dies (os.Exit, no
// cleanup) right after the step named in the environment.
func TestHelperProcess(t *testing.T) {
	dir := os.Getenv(envCrashDir)
	if dir == "" {
		t.Skip("helper process only")
	}
	step := os.Getenv(envCrashStep)
	cfg := Config{afterStep: func(s string) error {
		if s == step {
			os.Exit(3)
		}
		return nil
	}}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var out, errb bytes.Buffer
	code := cfg.Main(ctx, []string{"--store", "file://" + dir, "master-key", "rotate"}, strings.NewReader(""), &out, &errb)
	fmt.Fprint(os.Stderr, errb.String())
	os.Exit(10 + code)
}

func TestMasterKeyRotateProcessCrash(t *testing.T) {
	for _, step := range []string{"staged", "resealed", "activated"} {
		t.Run(step, func(t *testing.T) {
			e := lifecycleEnv(t)
			before := e.stateBytes()
			n := e.sealedKIDs()["m1"]
			cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$", "-test.count=1")
			cmd.Env = append(os.Environ(), envCrashDir+"="+e.dir, envCrashStep+"="+step)
			cmd.Stderr = os.Stderr
			var ee *exec.ExitError
			if err := cmd.Run(); !errors.As(err, &ee) || ee.ExitCode() != 3 {
				t.Fatalf("helper did not crash where meant: %v", err)
			}
			checkRotationPoint(t, e, filepath.Join(e.dir, "master.key"), step, before, n)
		})
	}
}
