package registry_test

import (
	"context"
	"errors"
	"maps"
	"testing"
	"time"

	"github.com/attestd/attestd/internal/recordauth"
	"github.com/attestd/attestd/internal/registry"
	"github.com/attestd/attestd/internal/testenv"
	"github.com/attestd/attestd/store"
	"github.com/attestd/attestd/store/open"
)

// authLoad is a registry that authenticates records, on the fixture's
// store, with its raw snapshot and keys.
func authLoad(t *testing.T, floor recordauth.Floor) (*registry.Registry, *store.Snapshot, recordauth.Keys) {
	t.Helper()
	s := testenv.NewStore(t, testenv.NewFixture(t))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	st, kr, err := open.Open(ctx, s.URL, open.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	raw, err := st.Load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	r, err := registry.New(registry.Config{Sealer: kr, Records: kr, Floor: floor})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.Close)
	return r, raw, kr
}

// TestSwapRefusesForgedAppAndKeepsServing: a snapshot with an app added
// without the master key is refused whole; the previous state keeps
// serving and the forged app stays unknown.
func TestSwapRefusesForgedAppAndKeepsServing(t *testing.T) {
	r, raw, _ := authLoad(t, recordauth.Floor{})
	if err := r.Swap(raw); err != nil {
		t.Fatal(err)
	}
	if !r.Installed(raw) || r.Check(raw) != nil || r.Generation() == 0 {
		t.Fatalf("installed %v, generation %d", r.Installed(raw), r.Generation())
	}
	forged := &store.Snapshot{Revision: raw.Revision + 1, Entries: maps.Clone(raw.Entries)}
	forged.Entries["apps/com.evil"] = store.Entry{Value: []byte(`{"id":"com.evil","account":"acme","platform":"android","signers":["x"]}`), ModRevision: forged.Revision}
	err := r.Swap(forged)
	if !errors.Is(err, recordauth.ErrUnauthenticated) || r.Check(forged) == nil {
		t.Fatalf("Swap(forged) = %v", err)
	}
	if r.Revision() != raw.Revision || r.Installed(forged) {
		t.Fatalf("serving revision %d after a refused change", r.Revision())
	}
	if _, ok, err := r.App([]byte("com.evil")); ok || err != nil {
		t.Fatalf("forged app: %v %v", ok, err)
	}
	if _, ok, _ := r.App([]byte(testenv.App)); !ok {
		t.Fatal("the genuine app is gone")
	}
}

// TestSwapRefusesStateOlderThanFloor: a node's last-known-good generation
// is a floor the store cannot go below.
func TestSwapRefusesStateOlderThanFloor(t *testing.T) {
	r, raw, _ := authLoad(t, recordauth.Floor{Generation: 1000})
	if err := r.Swap(raw); !errors.Is(err, recordauth.ErrRollback) || r.Ready() {
		t.Fatalf("Swap below the floor = %v (ready %v)", err, r.Ready())
	}
}
