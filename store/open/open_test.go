package open

import (
	"context"
	"crypto/rand"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/attestd/attestd/crypto/envelope"
	"github.com/attestd/attestd/internal/state"
	"github.com/attestd/attestd/store"
	"github.com/attestd/attestd/store/filestore"
)

// The keyring is what internal/state seals with.
var _ state.Sealer = (*envelope.Keyring)(nil)

func TestParseURL(t *testing.T) {
	cases := []struct {
		raw  string
		want Location
	}{
		{"file:///var/lib/attestd", Location{Scheme: "file", Dir: "/var/lib/attestd"}},
		{DefaultURL, Location{Scheme: "file", Dir: "./attestd-data"}},
		{"file://data", Location{Scheme: "file", Dir: "data"}},
		{"file://localhost/srv/x", Location{Scheme: "file", Dir: "/srv/x"}},
		{"file:///a%20b", Location{Scheme: "file", Dir: "/a b"}},
		{"etcd://h1:2379,h2:2379/attestd", Location{Scheme: "etcd", Endpoints: []string{"h1:2379", "h2:2379"}, Prefix: "attestd"}},
	}
	for _, c := range cases {
		got, err := ParseURL(c.raw)
		if err != nil || !reflect.DeepEqual(got, c.want) {
			t.Errorf("ParseURL(%q) = %+v, %v; want %+v", c.raw, got, err, c.want)
		}
	}
	for _, bad := range []string{"", "/plain/path", "file://", "s3://bucket/x", "etcd://h1:2379", "etcd:///prefix", "etcd://u@h:1/p"} {
		if _, err := ParseURL(bad); !errors.Is(err, store.ErrBadURL) {
			t.Errorf("ParseURL(%q) = %v, want ErrBadURL", bad, err)
		}
	}
}

func TestOpenFileStoreSealsWithMasterKey(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "data")
	st, kr, err := Open(ctx, "file://"+dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if fi, err := os.Stat(filepath.Join(dir, "master.key")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("master key: %v %v", fi, err)
	}
	sealed, err := kr.Seal([]byte("hello"), "x#y")
	if err != nil {
		t.Fatal(err)
	}
	// Reopening finds the same key.
	st2, kr2, err := Open(ctx, "file://"+dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st2.Close()
	if v, err := kr2.Open(sealed, "x#y"); err != nil || string(v.Reveal()) != "hello" {
		t.Fatalf("reopen: %v", err)
	}
	// A given key file that is not a key file is refused.
	bad := filepath.Join(t.TempDir(), "bad.key")
	_ = os.WriteFile(bad, []byte("not a key"), 0o600)
	if _, _, err := Open(ctx, "file://"+t.TempDir(), Options{MasterKeyFile: bad}); !errors.Is(err, ErrMasterKey) {
		t.Fatalf("bad key file: %v", err)
	}
}

// An etcd store needs a master key file given; it never creates one (the
// key must not live beside the secrets, and every node needs the same).
func TestOpenEtcdNeedsMasterKey(t *testing.T) {
	_, _, err := Open(context.Background(), "etcd://127.0.0.1:2379/attestd", Options{})
	if !errors.Is(err, ErrMasterKey) {
		t.Fatalf("err = %v", err)
	}
}

// TestMasterKeyPath: the explicit file wins; a file store keeps its own
// master.key; an etcd store keeps none.
func TestMasterKeyPath(t *testing.T) {
	if p, err := MasterKeyPath("etcd://127.0.0.1:2379/p", "/etc/attestd/master.key"); err != nil || p != "/etc/attestd/master.key" {
		t.Fatalf("explicit: %q, %v", p, err)
	}
	if p, err := MasterKeyPath("file:///var/lib/attestd", ""); err != nil || p != "/var/lib/attestd/master.key" {
		t.Fatalf("file store: %q, %v", p, err)
	}
	if _, err := MasterKeyPath("etcd://127.0.0.1:2379/p", ""); !errors.Is(err, ErrMasterKey) {
		t.Fatalf("etcd store without a file: %v", err)
	}
	if _, err := MasterKeyPath("ftp://x", ""); !errors.Is(err, store.ErrBadURL) {
		t.Fatalf("bad URL: %v", err)
	}
}

// TestLostMasterKeyIsRefusedNotReplaced: opening a file store whose
// master.key is gone, but whose records were sealed under it, fails with
// the key ID the records need, and leaves no new key behind (which would
// make the store look forged to every later reader).
func TestLostMasterKeyIsRefusedNotReplaced(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "data")
	st, kr, err := Open(ctx, "file://"+dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Update(ctx, state.EnsureDeployment(kr, rand.Reader)); err != nil {
		t.Fatal(err)
	}
	_ = st.Close()
	keyPath := filepath.Join(dir, filestore.MasterKeyFileName)
	if err := os.Remove(keyPath); err != nil {
		t.Fatal(err)
	}
	_, _, err = Open(ctx, "file://"+dir, Options{})
	if !errors.Is(err, ErrMasterKey) || !errors.Is(err, filestore.ErrNoMasterKey) {
		t.Fatalf("Open without the key = %v, want ErrMasterKey and filestore.ErrNoMasterKey", err)
	}
	for _, want := range []string{"master key file missing: " + keyPath, "sealed under key ID " + MasterKeyID, "--master-key FILE"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	if _, err := os.Stat(keyPath); !errors.Is(err, fs.ErrNotExist) {
		t.Fatal("a new master key was created")
	}
}
