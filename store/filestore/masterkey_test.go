package filestore

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
)

func TestMasterKeyCreated0600AndStable(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	s := openTest(t, dir)
	fi, err := os.Stat(filepath.Join(dir, MasterKeyFileName))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("master key mode %v", fi.Mode())
	}
	if di, _ := os.Stat(dir); di.Mode().Perm() != 0o700 {
		t.Fatalf("dir mode %v", di.Mode())
	}
	want, _ := testKey()
	if !bytes.Equal(s.MasterKey().Reveal(), want) {
		t.Fatal("master key content")
	}
	// A second open reads the same key and creates nothing.
	calls := 0
	s2, err := Open(context.Background(), dir, Options{NewMasterKey: func() ([]byte, error) { calls++; return []byte("other"), nil }})
	if err != nil || calls != 0 || !s2.MasterKey().Equal(s.MasterKey()) {
		t.Fatalf("reopen: %v calls=%d", err, calls)
	}
}

func TestMasterKeyConcurrentFirstUseAgrees(t *testing.T) {
	dir := t.TempDir()
	var wg sync.WaitGroup
	keys := make([][]byte, 8)
	for i := range keys {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := Open(context.Background(), dir, Options{NewMasterKey: func() ([]byte, error) {
				return []byte{byte('a' + i)}, nil
			}})
			if err != nil {
				t.Error(err)
				return
			}
			keys[i] = s.MasterKey().Reveal()
		}()
	}
	wg.Wait()
	for _, k := range keys {
		if !bytes.Equal(k, keys[0]) {
			t.Fatalf("first users disagree: %q", keys)
		}
	}
}

func TestMasterKeyRefusals(t *testing.T) {
	dir := t.TempDir()
	// No key and no way to create one.
	if _, err := Open(context.Background(), dir, Options{}); !errors.Is(err, ErrNoMasterKey) {
		t.Fatalf("missing key: %v", err)
	}
	// A given key file must exist.
	if _, err := Open(context.Background(), dir, Options{MasterKeyFile: filepath.Join(dir, "nope"), NewMasterKey: testKey}); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("missing given key: %v", err)
	}
	// A group- or world-readable key is refused, and the error says why.
	loose := filepath.Join(t.TempDir(), "loose.key")
	if err := os.WriteFile(loose, []byte("m1:SECRETKEYBYTES"), 0o644); err != nil {
		t.Fatal(err)
	}
	_ = os.Chmod(loose, 0o644)
	_, err := Open(context.Background(), dir, Options{MasterKeyFile: loose})
	if !errors.Is(err, ErrMasterKeyMode) || !strings.Contains(err.Error(), "chmod 600") || strings.Contains(err.Error(), "SECRETKEYBYTES") {
		t.Fatalf("loose key: %v", err)
	}
	// Also inside the directory.
	if err := os.WriteFile(filepath.Join(dir, MasterKeyFileName), []byte("x"), 0o640); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(context.Background(), dir, Options{NewMasterKey: testKey}); !errors.Is(err, ErrMasterKeyMode) {
		t.Fatalf("loose key in dir: %v", err)
	}
	// A proper given key is used, and no master.key is created.
	dir2 := t.TempDir()
	good := filepath.Join(t.TempDir(), "good.key")
	if err := os.WriteFile(good, []byte("m1:given"), 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := Open(context.Background(), dir2, Options{MasterKeyFile: good, NewMasterKey: testKey})
	if err != nil || string(s.MasterKey().Reveal()) != "m1:given" {
		t.Fatalf("given key: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir2, MasterKeyFileName)); !errors.Is(err, fs.ErrNotExist) {
		t.Fatal("master.key created although a key file was given")
	}
}

// dirNames lists the names in dir.
func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		out = append(out, e.Name())
	}
	return out
}

// TestMissingMasterKeyOfAStoreWithRecordsIsNotReplaced: a store whose
// master.key was lost (deleted, not restored from backup) is refused: a
// new key would seal nothing that exists and make every record fail
// authentication, and the new file would hide what happened. Nothing is
// created, not even the lock file.
func TestMissingMasterKeyOfAStoreWithRecordsIsNotReplaced(t *testing.T) {
	dir := t.TempDir()
	s := openTest(t, dir)
	if _, err := s.Update(ctxT(t), put("accounts/a", `{"id":"a"}`)); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{MasterKeyFileName, LockFileName} {
		if err := os.Remove(filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	before := dirNames(t, dir)
	calls := 0
	_, err := Open(ctxT(t), dir, Options{NewMasterKey: func() ([]byte, error) { calls++; return testKey() }})
	var mk *MissingKeyError
	if !errors.Is(err, ErrNoMasterKey) || !errors.As(err, &mk) || mk.Path != filepath.Join(dir, MasterKeyFileName) ||
		len(mk.State.Entries) != 1 {
		t.Fatalf("Open of a store with records and no key: %v", err)
	}
	if calls != 0 {
		t.Fatal("a new master key was made")
	}
	if after := dirNames(t, dir); !slices.Equal(before, after) {
		t.Fatalf("the refused open left files: %v, was %v", after, before)
	}
	// A state file that does not read is refused too: what it holds is
	// not known.
	if err := os.WriteFile(filepath.Join(dir, StateFileName), []byte("{"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(ctxT(t), dir, Options{NewMasterKey: testKey}); !errors.Is(err, ErrNoMasterKey) || !errors.Is(err, ErrCorrupt) {
		t.Fatalf("Open of a corrupt store with no key: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, MasterKeyFileName)); !errors.Is(err, fs.ErrNotExist) {
		t.Fatal("a master key was created")
	}
}

// TestMasterKeyCreatedForAStoreWithoutRecords: a state file without
// records (a store emptied, or written by a crashed first start) is still
// a new store: its key is created.
func TestMasterKeyCreatedForAStoreWithoutRecords(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, StateFileName), []byte(`{"revision": 3, "entries": {}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	s := openTest(t, dir)
	if want, _ := testKey(); !bytes.Equal(s.MasterKey().Reveal(), want) {
		t.Fatal("no key created for a store without records")
	}
}
