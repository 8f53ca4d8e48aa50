package open

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCreateMasterKeyFile: a new master key file is mode 0600, holds one
// key that self-tests, and leaves no temporary file behind.
func TestCreateMasterKeyFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "master.key")
	kid, err := CreateMasterKeyFile(path, nil)
	if err != nil || kid != MasterKeyID {
		t.Fatalf("CreateMasterKeyFile = %q, %v", kid, err)
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v, %v", fi.Mode(), err)
	}
	_, ks, err := ReadKeySet(path)
	if err != nil || strings.Join(ks.IDs(), ",") != MasterKeyID {
		t.Fatalf("ReadKeySet: %v", err)
	}
	if _, err := ks.Keyring(); err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Fatalf("left behind: %v", entries)
	}
}

// TestCreateMasterKeyFileNeverReplaces: an existing file (the key a
// store's secrets are sealed under), a symlink to one, or a dangling
// symlink (which a plain create would follow) is never replaced: the
// error wraps fs.ErrExist and the file is unchanged.
func TestCreateMasterKeyFileNeverReplaces(t *testing.T) {
	dir := t.TempDir()
	existing := filepath.Join(dir, "master.key")
	if _, err := CreateMasterKeyFile(existing, nil); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(existing)
	link := filepath.Join(dir, "link.key")
	dangling := filepath.Join(dir, "dangling.key")
	if err := os.Symlink(existing, link); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(dir, "elsewhere", "k"), dangling); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{existing, link, dangling} {
		if _, err := CreateMasterKeyFile(p, nil); !errors.Is(err, fs.ErrExist) || !errors.Is(err, ErrMasterKey) {
			t.Errorf("%s: %v, want fs.ErrExist", filepath.Base(p), err)
		}
	}
	if after, _ := os.ReadFile(existing); !bytes.Equal(before, after) {
		t.Fatal("the existing key file changed")
	}
	if _, err := os.Stat(filepath.Join(dir, "elsewhere")); !errors.Is(err, fs.ErrNotExist) {
		t.Fatal("the dangling symlink was followed")
	}
}

// TestEtcdKeyErrorsNameTheEtcdStore: an etcd store opened without a
// master key file, or with one that does not exist, says so for an etcd
// store and how to make one; never "filestore" (it used to answer
// "filestore: master key: open …" for an etcd URL).
func TestEtcdKeyErrorsNameTheEtcdStore(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "nope.key")
	for name, opts := range map[string]Options{
		"no --master-key":    {},
		"a file that is not": {MasterKeyFile: missing},
	} {
		_, _, err := Open(context.Background(), "etcd://127.0.0.1:2379/attestd", opts)
		if !errors.Is(err, ErrMasterKey) {
			t.Fatalf("%s: %v", name, err)
		}
		msg := err.Error()
		if !strings.HasPrefix(msg, "etcd store: ") || strings.Contains(msg, "filestore") {
			t.Errorf("%s: %q", name, msg)
		}
		var kf *KeyFileError
		if !errors.As(err, &kf) {
			t.Fatalf("%s: %v is not a KeyFileError", name, err)
		}
		want := "attestctl --store URL init --new-master-key " + cmp.Or(opts.MasterKeyFile, HintKeyFile)
		if h := kf.Hint(func(args ...string) string { return "attestctl --store URL " + strings.Join(args, " ") }); !strings.HasSuffix(h, want) {
			t.Errorf("%s: hint %q does not end with %q", name, h, want)
		}
	}
	if _, err := MasterKeyPath("etcd://127.0.0.1:2379/p", ""); err == nil || !strings.HasPrefix(err.Error(), "etcd store: ") {
		t.Errorf("MasterKeyPath: %v", err)
	}
}
