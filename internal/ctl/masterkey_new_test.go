package ctl

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestMasterKeyNew: 'master-key new FILE' writes a key file (mode 0600)
// without touching or creating any store, prints the init command that
// uses it, and never replaces a file: a second run fails and the key is
// unchanged.
func TestMasterKeyNew(t *testing.T) {
	e := newBareEnv(t)
	key := filepath.Join(t.TempDir(), "master.key")
	r := e.ok("master-key", "new", key)
	if fi, err := os.Stat(key); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v %v", fi, err)
	}
	if _, err := os.Stat(e.dir); !os.IsNotExist(err) {
		t.Fatalf("master-key new created the store folder: %v", err)
	}
	if !strings.Contains(r.stdout, "--master-key "+key+" init") {
		t.Errorf("no init hint with the key:\n%s", r.stdout)
	}
	before, _ := os.ReadFile(key)
	e.fail(ExitFailure, []string{"master-key", "new", key}, "exists", "not replaced")
	if after, _ := os.ReadFile(key); !bytes.Equal(before, after) {
		t.Fatal("a second master-key new replaced the key file")
	}
	e.fail(ExitUsage, []string{"master-key", "new"}, "wrong number of arguments")
	if h := e.ok("help", "master-key"); !strings.Contains(h.stdout, "master-key new FILE") {
		t.Errorf("help master-key lacks new:\n%s", h.stdout)
	}
}

// TestInitNewMasterKey: init --new-master-key writes the key file first
// and initialises the store under it (the hints name it); it refuses an
// existing file and refuses to be given with --master-key.
func TestInitNewMasterKey(t *testing.T) {
	e := newBareEnv(t)
	key := filepath.Join(t.TempDir(), "node.key")
	r := e.ok("init", "--new-master-key", key)
	if !strings.Contains(r.stdout, "--master-key "+key) {
		t.Errorf("the hints do not name the new key:\n%s", r.stdout)
	}
	if _, err := os.Stat(filepath.Join(e.dir, "master.key")); !os.IsNotExist(err) {
		t.Fatalf("the store made a key of its own too: %v", err)
	}
	e.ok("--master-key", key, "export")
	e.fail(ExitFailure, []string{"init", "--new-master-key", key}, "exists")
	e.fail(ExitUsage, []string{"--master-key", key, "init", "--new-master-key", key + "2"}, "not both")
	if _, err := os.Stat(key + "2"); !os.IsNotExist(err) {
		t.Fatal("a refused init wrote a key file")
	}
}
