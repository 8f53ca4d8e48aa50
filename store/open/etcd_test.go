package open

import (
	"context"
	"crypto/rand"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/attestd/attestd/crypto/envelope"
	"github.com/attestd/attestd/internal/recordauth"
	"github.com/attestd/attestd/store/etcdstore"
)

func keyFile(t *testing.T) string {
	t.Helper()
	b, err := envelope.NewKeyFile(MasterKeyID, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "master.key")
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// Opening an etcd store checks settings and files only; it does not wait
// for etcd, so a node can start from its snapshot while etcd is away.
func TestOpenEtcdChecksSettingsWithoutConnecting(t *testing.T) {
	ctx := context.Background()
	mk := keyFile(t)
	url := "etcd://127.0.0.1:1,127.0.0.1:2/attestd"
	st, kr, err := Open(ctx, url, Options{MasterKeyFile: mk})
	if err != nil || kr == nil {
		t.Fatalf("open: %v", err)
	}
	es, ok := st.(*recordauth.Store).Unwrap().(*etcdstore.Store)
	if !ok || es.Prefix() != "attestd/" {
		t.Fatalf("store %T", st)
	}
	st.Close()

	dir := t.TempDir()
	pw := filepath.Join(dir, "pw")
	_ = os.WriteFile(pw, []byte("s3cret\r\nignored\n"), 0o600)
	if got, err := readPassword(pw); err != nil || got != "s3cret" {
		t.Fatalf("password %q %v", got, err)
	}
	empty := filepath.Join(dir, "empty")
	_ = os.WriteFile(empty, []byte("\n"), 0o600)
	for name, e := range map[string]EtcdOptions{
		"user without password file": {Username: "edge"},
		"password file without user": {PasswordFile: pw},
		"empty password":             {Username: "edge", PasswordFile: empty, AllowPlaintextPassword: true},
		"missing password file":      {Username: "edge", PasswordFile: filepath.Join(dir, "none"), AllowPlaintextPassword: true},
		"password without TLS":       {Username: "edge", PasswordFile: pw},
		"missing CA":                 {CAFile: filepath.Join(dir, "none")},
		"CA that is not PEM":         {CAFile: pw},
		"certificate without key":    {CertFile: pw},
	} {
		if _, _, err := Open(ctx, url, Options{MasterKeyFile: mk, Etcd: e}); !errors.Is(err, etcdstore.ErrBadOptions) {
			t.Errorf("%s: %v, want ErrBadOptions", name, err)
		}
	}
	loose := filepath.Join(dir, "loose.key")
	b, _ := os.ReadFile(mk)
	_ = os.WriteFile(loose, b, 0o644)
	if _, _, err := Open(ctx, url, Options{MasterKeyFile: loose}); !errors.Is(err, ErrMasterKey) {
		t.Errorf("world-readable master key: %v", err)
	}
}
