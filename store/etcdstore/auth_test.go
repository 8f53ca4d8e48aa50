package etcdstore_test

import (
	"context"
	"crypto/rand"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"go.etcd.io/etcd/api/v3/authpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/attestd/attestd/crypto/envelope"
	"github.com/attestd/attestd/internal/etcdtest"
	"github.com/attestd/attestd/store"
	"github.com/attestd/attestd/store/open"
)

// enableAuth creates root and an "edge" user allowed to read and write
// under "attestd/" only, then turns authentication on.
func enableAuth(t *testing.T, cli *clientv3.Client) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	steps := []func() error{
		func() error { _, err := cli.UserAdd(ctx, "root", "root-pw"); return err },
		func() error { _, err := cli.UserGrantRole(ctx, "root", "root"); return err },
		func() error { _, err := cli.RoleAdd(ctx, "attestd"); return err },
		func() error {
			_, err := cli.RoleGrantPermission(ctx, "attestd", "attestd/", clientv3.GetPrefixRangeEnd("attestd/"),
				clientv3.PermissionType(authpb.READWRITE))
			return err
		},
		func() error { _, err := cli.UserAdd(ctx, "edge", "edge-pw"); return err },
		func() error { _, err := cli.UserGrantRole(ctx, "edge", "attestd"); return err },
		func() error { _, err := cli.AuthEnable(ctx); return err },
	}
	for i, step := range steps {
		if err := step(); err != nil {
			t.Fatalf("auth setup step %d: %v", i, err)
		}
	}
}

func writeFile(t *testing.T, name string, b []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestTLSAndAuthentication: a TLS cluster that requires client
// certificates and has authentication on, reached through store/open with
// the files an operator gives: certificate auth (the certificate's common
// name is the user), password auth, and the failures that must not look
// like "etcd is away" (no silent fallback to the snapshot).
func TestTLSAndAuthentication(t *testing.T) {
	c := etcdtest.Start(t, etcdtest.Options{Members: 1, TLS: true, ClientCN: "edge"})
	enableAuth(t, c.Client(t))
	kf, err := envelope.NewKeyFile(open.MasterKeyID, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	mk := writeFile(t, "master.key", kf)
	good := writeFile(t, "pw", []byte("edge-pw\n"))
	bad := writeFile(t, "bad-pw", []byte("nope\n"))
	tlsFiles := open.EtcdOptions{CAFile: c.TLS.CA, CertFile: c.TLS.ClientCert, KeyFile: c.TLS.ClientKey,
		DialTimeout: 5 * time.Second, RequestTimeout: 5 * time.Second}
	url := c.URL("attestd")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	use := func(name, url string, e open.EtcdOptions) error {
		st, _, err := open.Open(ctx, url, open.Options{MasterKeyFile: mk, Etcd: e})
		if err != nil {
			return err
		}
		defer st.Close()
		if _, err := st.Update(ctx, func(*store.Snapshot) (store.Changes, error) {
			return store.Changes{Put: map[string][]byte{"bans": []byte(`{"devices":["` + name + `"]}`)}}, nil
		}); err != nil {
			return err
		}
		_, err = st.Load(ctx)
		return err
	}

	if err := use("cert", url, tlsFiles); err != nil {
		t.Errorf("client certificate auth: %v", err)
	}
	withPw := tlsFiles
	withPw.Username, withPw.PasswordFile = "edge", good
	if err := use("password", url, withPw); err != nil {
		t.Errorf("password auth: %v", err)
	}

	wrongPw := withPw
	wrongPw.PasswordFile = bad
	wrongPw.SnapshotFile = filepath.Join(t.TempDir(), "snap.json")
	if err := use("wrong", url, wrongPw); !errors.Is(err, rpctypes.ErrAuthFailed) || errors.Is(err, store.ErrUnavailable) {
		t.Errorf("wrong password: %v, want an authentication failure (not 'unavailable')", err)
	}
	if err := use("elsewhere", c.URL("other"), withPw); !errors.Is(err, rpctypes.ErrPermissionDenied) {
		t.Errorf("prefix outside the role: %v, want permission denied", err)
	}
	noCert := withPw
	noCert.CertFile, noCert.KeyFile = "", ""
	noCert.DialTimeout, noCert.RequestTimeout = time.Second, time.Second
	if err := use("no-cert", url, noCert); !errors.Is(err, store.ErrUnavailable) {
		t.Errorf("no client certificate: %v, want the handshake refused", err)
	}
	plain := open.EtcdOptions{DialTimeout: time.Second, RequestTimeout: time.Second}
	if err := use("plain", url, plain); err == nil {
		t.Error("plaintext reached a TLS cluster")
	}
}
