package daemon

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/attestd/attestd/internal/recordauth"
	"github.com/attestd/attestd/internal/state"
)

// TestFirstStartSeedsAuthenticatedRecords: the demo a node seeds into an
// empty embedded store on its first start is authenticated: it verifies
// under the master key, and the node serves it at generation 1.
func TestFirstStartSeedsAuthenticatedRecords(t *testing.T) {
	f := DefaultFlags()
	f.Store = "file://" + filepath.Join(t.TempDir(), "store")
	f.Listen, f.AdminListen, f.LogLevel, f.SeedDemo = "127.0.0.1:0", "127.0.0.1:0", "error", true
	cfg, err := f.Validate()
	if err != nil {
		t.Fatal(err)
	}
	d, err := New(context.Background(), cfg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer d.close()
	if !d.seeded || d.reg.Generation() != 1 {
		t.Fatalf("seeded %v, generation %d", d.seeded, d.reg.Generation())
	}
	raw, err := d.store.Load(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := recordauth.Verify(raw, d.keys, recordauth.Floor{}); err != nil {
		t.Fatalf("seeded store: %v", err)
	}
	if _, ok, _ := d.reg.App([]byte(state.Demo().AppID)); !ok {
		t.Fatal("the demo app is not served")
	}
}
