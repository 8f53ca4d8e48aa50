package e2e

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/attestd/attestd/client"
	"github.com/attestd/attestd/daemon"
	"github.com/attestd/attestd/internal/testenv"
	"github.com/attestd/attestd/internal/testenv/logbuf"
)

// masterKeyLines returns the base64 keys of a master key file's content.
func masterKeyLines(content []byte) []string {
	var out []string
	for _, line := range strings.Split(string(content), "\n") {
		line = strings.TrimSpace(line)
		if _, key, ok := strings.Cut(line, ":"); ok && !strings.HasPrefix(line, "#") && len(key) > 20 {
			out = append(out, key)
		}
	}
	return out
}

// installKeyFile replaces path with content (mode 0600) by rename, as
// config management does.
func installKeyFile(t *testing.T, path string, content []byte) {
	t.Helper()
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, content, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

// releases reports whether an attest of the app on e's node passes and
// releases value as the runtime secret (decrypting the JWE).
func releases(e *env, value string) bool {
	c := e.client(testenv.App)
	res, err := c.Attest(context.Background(), client.Evidence{WantSecrets: true})
	if err != nil {
		return false
	}
	if _, err := verifyHS(res.Token, e.f.HSKey, testenv.Account); err != nil {
		return false
	}
	m, err := c.OpenSecrets(res)
	return err == nil && m[testenv.SecretName] == value
}

// noKeyMaterial fails the test when a secret or a master key shows in logs.
func noKeyMaterial(t *testing.T, logs string, needles []string) {
	t.Helper()
	for _, n := range needles {
		if n != "" && strings.Contains(logs, n) {
			t.Fatalf("key material or a secret in the node's log (%d characters)", len(n))
		}
	}
}

// TestMasterKeyOneShotRotationFollowed: a node that reads the master key
// file attestctl rewrites follows a one-go `master-key rotate` without a
// restart or a signal: every round of a client loop during the rotation
// releases the secret, and a secret written afterwards, sealed under the
// new key, reaches attesting clients.
func TestMasterKeyOneShotRotationFollowed(t *testing.T) {
	f := testenv.NewFixture(t)
	s := testenv.NewStore(t, f)
	oldKeys, err := os.ReadFile(filepath.Join(s.Dir, "master.key"))
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	node := testenv.StartNode(t, s, testenv.Options{Log: &logs, LogLevel: "info"})
	e := &env{t: t, f: f, node: node, tr: http1()}
	loop := startSecretLoop(t, e, testenv.SecretValue)
	loop.waitRounds(t, 5)
	if out := lifecycleCtl(t, s, "", "master-key", "rotate"); !strings.Contains(out, "retired master key(s) m1") {
		t.Fatalf("rotate: %s", out)
	}
	const newValue = "sk_after_one_shot_rotation_5be0"
	loop.accept(testenv.SecretValue, newValue)
	lifecycleCtl(t, s, newValue+"\n", "secret", "put", testenv.Account, testenv.SecretName)
	eventually(t, "the node releases the value sealed under the new key", func() bool { return releases(e, newValue) })
	loop.waitRounds(t, 5)
	loop.finish(t)
	if ids := keyFileIDs(t, filepath.Join(s.Dir, "master.key")); len(ids) != 1 || ids[0] != "m2" {
		t.Fatalf("key file lists %v", ids)
	}
	needles := append(testenv.SecretNeedles(t, f, s), masterKeyLines(oldKeys)...)
	node.Stop(t)
	out := logs.String()
	if strings.Contains(out, "store change not applied") {
		t.Errorf("the node did not follow the rotation at once:\n%s", out)
	}
	if !strings.Contains(out, "master key file re-read") {
		t.Errorf("the node did not report re-reading its master key file:\n%s", out)
	}
	noKeyMaterial(t, out, append(needles, newValue))
}

// TestMasterKeyStaleFileFailsClosed: a node whose own key file does not
// list the new key keeps serving the state it has (no crash, no part of the
// new state: the old secret value only), logging why without key material;
// once its key file is replaced by one that lists the key, it applies the
// store, again without a restart or a signal.
func TestMasterKeyStaleFileFailsClosed(t *testing.T) {
	f := testenv.NewFixture(t)
	s := testenv.NewStore(t, f)
	oldKeys, err := os.ReadFile(filepath.Join(s.Dir, "master.key"))
	if err != nil {
		t.Fatal(err)
	}
	nodeKey := filepath.Join(t.TempDir(), "node-master.key")
	installKeyFile(t, nodeKey, oldKeys)
	logs := &logbuf.Buffer{}
	node := testenv.StartNode(t, s, testenv.Options{Log: logs, Edit: func(c *daemon.Config) { c.MasterKey = nodeKey }})
	e := &env{t: t, f: f, node: node, tr: http1()}
	loop := startSecretLoop(t, e, testenv.SecretValue)
	loop.waitRounds(t, 5)
	lifecycleCtl(t, s, "", "master-key", "rotate")
	const newValue = "sk_sealed_under_m2_only_91c3"
	lifecycleCtl(t, s, newValue+"\n", "secret", "put", testenv.Account, testenv.SecretName)
	// Within 3 s (the 2 s in which a node applies a change, and a key file
	// re-read), the node says it cannot apply the change and why.
	logged := time.Now().Add(3 * time.Second)
	for _, want := range []string{"store change not applied", "unknown key id", "master key file unchanged"} {
		logs.WaitFor(t, time.Until(logged), want)
	}
	loop.waitRounds(t, 20)
	if !releases(e, testenv.SecretValue) {
		t.Fatal("the node stopped releasing the secret it had")
	}
	// The node's file is updated (after the store): it follows.
	newKeys, err := os.ReadFile(filepath.Join(s.Dir, "master.key"))
	if err != nil {
		t.Fatal(err)
	}
	loop.accept(testenv.SecretValue, newValue)
	installKeyFile(t, nodeKey, newKeys)
	eventually(t, "the node applies the store once its key file lists m2", func() bool { return releases(e, newValue) })
	loop.waitRounds(t, 5)
	loop.finish(t)
	needles := append(testenv.SecretNeedles(t, f, s), masterKeyLines(oldKeys)...)
	node.Stop(t)
	noKeyMaterial(t, logs.String(), append(needles, newValue))
}
