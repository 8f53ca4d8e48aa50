package open

import (
	"context"
	"testing"

	"github.com/attestd/attestd/internal/recordauth"
	"github.com/attestd/attestd/store"
)

// TestOpenedStoreWritesAuthenticatedRecords: whatever writes through
// Open's store (attestctl, a daemon's first start, tests) writes tagged
// records and the manifest; a record written to the store underneath,
// without the master key, makes the state refused.
func TestOpenedStoreWritesAuthenticatedRecords(t *testing.T) {
	ctx := context.Background()
	st, kr, err := Open(ctx, "file://"+t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := st.Update(ctx, func(*store.Snapshot) (store.Changes, error) {
		return store.Changes{Put: map[string][]byte{"bans": []byte(`{"devices":[]}`)}}, nil
	}); err != nil {
		t.Fatal(err)
	}
	raw, err := st.Load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := recordauth.Verify(raw, kr, recordauth.Floor{}); err != nil {
		t.Fatalf("written through Open: %v", err)
	}
	under := st.(*recordauth.Store).Unwrap()
	if _, err := under.Update(ctx, func(*store.Snapshot) (store.Changes, error) {
		return store.Changes{Put: map[string][]byte{"apps/com.evil": []byte(`{"id":"com.evil"}`)}}, nil
	}); err != nil {
		t.Fatal(err)
	}
	raw, _ = st.Load(ctx)
	if _, err := recordauth.Verify(raw, kr, recordauth.Floor{}); err == nil {
		t.Fatal("a record written without the master key verifies")
	}
}
