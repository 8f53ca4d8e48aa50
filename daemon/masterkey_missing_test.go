package daemon

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/attestd/attestd/store/filestore"
	"github.com/attestd/attestd/store/open"
)

// TestLostMasterKeyStopsTheStartWithoutANewKey: a node restarted on its
// embedded store after master.key was lost refuses to start and says which
// key the records need. It used to make a new key, then refuse its own
// store as "records forged or edited without the master key", and leave
// the new key file behind for the next start to trust. The first start of
// a new store still creates its key.
func TestLostMasterKeyStopsTheStartWithoutANewKey(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "store")
	f := DefaultFlags()
	f.Store = "file://" + dir
	f.Listen, f.AdminListen, f.LogLevel = "127.0.0.1:0", "127.0.0.1:0", "error"
	cfg, err := f.Validate()
	if err != nil {
		t.Fatal(err)
	}
	d, err := New(context.Background(), cfg, Options{})
	if err != nil {
		t.Fatalf("first start: %v", err)
	}
	d.close()
	keyPath := filepath.Join(dir, filestore.MasterKeyFileName)
	if err := os.Remove(keyPath); err != nil {
		t.Fatalf("the first start made no key: %v", err)
	}
	d, err = New(context.Background(), cfg, Options{})
	if err == nil {
		d.close()
		t.Fatal("the node started on a store whose master key is lost")
	}
	if !errors.Is(err, open.ErrMasterKey) || !errors.Is(err, filestore.ErrNoMasterKey) {
		t.Errorf("error %v is not a missing master key", err)
	}
	for _, want := range []string{"master key file missing: " + keyPath, "sealed under key ID " + open.MasterKeyID} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	if strings.Contains(err.Error(), "forged") {
		t.Errorf("error %q calls the store forged", err)
	}
	if _, err := os.Stat(keyPath); !errors.Is(err, fs.ErrNotExist) {
		t.Fatal("the refused start left a new master key behind")
	}
}
