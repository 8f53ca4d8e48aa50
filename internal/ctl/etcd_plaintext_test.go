package ctl

import (
	"crypto/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/attestd/attestd/crypto/envelope"
)

// TestEtcdPasswordOverPlaintextRefusedByAttestctl: attestctl refuses etcd
// password auth without TLS before it connects, naming the flag that
// allows it; with --etcd-allow-plaintext-password it goes on to connect.
func TestEtcdPasswordOverPlaintextRefusedByAttestctl(t *testing.T) {
	dir := t.TempDir()
	mk := filepath.Join(dir, "master.key")
	kf, err := envelope.NewKeyFile("m1", rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	pw := filepath.Join(dir, "pw")
	if os.WriteFile(mk, kf, 0o600) != nil || os.WriteFile(pw, []byte("hunter2hunter2\n"), 0o600) != nil {
		t.Fatal("write files")
	}
	e := &env{t: t, url: "etcd://127.0.0.1:1/attestd", outs: &outputs{}}
	base := []string{"--master-key", mk, "--etcd-user", "edge", "--etcd-password-file", pw,
		"--etcd-dial-timeout", "200ms", "--etcd-request-timeout", "200ms"}
	r := e.fail(ExitFailure, append(base, "list", "apps"), "without TLS", "--etcd-allow-plaintext-password")
	if strings.Contains(r.stderr, "hunter2") {
		t.Fatal("the refusal shows the password")
	}
	r = e.run(append(base, "--etcd-allow-plaintext-password", "list", "apps")...)
	if r.code == ExitOK || strings.Contains(r.stderr, "without TLS") {
		t.Fatalf("allowed: exit %d, %q; want a connection failure, not the refusal", r.code, r.stderr)
	}
}
