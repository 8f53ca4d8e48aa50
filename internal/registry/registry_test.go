package registry_test

import (
	"context"
	"testing"
	"time"

	"github.com/attestd/attestd/internal/registry"
	"github.com/attestd/attestd/internal/testenv"
	"github.com/attestd/attestd/store"
	"github.com/attestd/attestd/store/open"
)

func load(t *testing.T) (*registry.Registry, *store.Snapshot) {
	t.Helper()
	return loadStore(t, testenv.NewStore(t, testenv.NewFixture(t)))
}

// loadStore opens s as a node would, and returns a registry that has
// swapped in its snapshot (and was not ready before), with the snapshot.
func loadStore(t *testing.T, s *testenv.Store) (*registry.Registry, *store.Snapshot) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	st, seal, err := open.Open(ctx, s.URL, open.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	snap, err := st.Load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	r, err := registry.New(registry.Config{Sealer: seal})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.Close)
	if r.Ready() {
		t.Fatal("ready before the first snapshot")
	}
	if err := r.Swap(snap); err != nil {
		t.Fatal(err)
	}
	return r, snap
}

func TestLookupsAndNegativeCaching(t *testing.T) {
	r, _ := load(t)
	app, ok, err := r.App([]byte(testenv.App))
	if err != nil || !ok || app.Account != testenv.Account || len(app.Signers) != 1 || app.Policy.AndroidMinSecurity != "tee" {
		t.Fatalf("App = %+v %v %v", app, ok, err)
	}
	for range 3 {
		if _, ok, err := r.App([]byte("com.unknown")); ok || err != nil {
			t.Fatalf("unknown app: %v %v", ok, err)
		}
	}
	apps, _ := r.CacheStats()
	if apps.Builds != 1 {
		t.Fatalf("builds = %d, want 1 (unknown ids cached as absent)", apps.Builds)
	}
	acct, ok, err := r.Account(testenv.Account)
	if err != nil || !ok || acct.Signer.KID() != testenv.KIDHS || string(acct.JWKS) != `{"keys":[]}` {
		t.Fatalf("Account = %+v %v %v", acct, ok, err)
	}
	if got := string(acct.SecretsFor(testenv.App).Reveal()); got != `{"maps_api_key":"`+testenv.SecretValue+`"}` {
		t.Fatalf("secrets for app = %s", got)
	}
	if got := string(acct.SecretsFor(testenv.AppStrict).Reveal()); got != `{}` {
		t.Fatalf("secrets for an app without any = %s", got)
	}
	if _, _, ok, _ := r.API("nothing"); ok {
		t.Fatal("unknown API found")
	}
}

// A snapshot that cannot be installed leaves the last good one serving.
func TestSwapKeepsLastGood(t *testing.T) {
	r, snap := load(t)
	bad := &store.Snapshot{Revision: snap.Revision + 1, Entries: map[string]store.Entry{}}
	for k, e := range snap.Entries {
		bad.Entries[k] = e
	}
	bad.Entries["deployment"] = store.Entry{Value: []byte(`{"nonce":"garbage"}`), ModRevision: bad.Revision}
	if err := r.Swap(bad); err == nil {
		t.Fatal("corrupt deployment record installed")
	}
	if r.Revision() != snap.Revision {
		t.Fatalf("revision %d, want the last good %d", r.Revision(), snap.Revision)
	}
	if _, ok, err := r.App([]byte(testenv.App)); !ok || err != nil {
		t.Fatal("last good state does not serve")
	}
	older := &store.Snapshot{Revision: snap.Revision - 1, Entries: map[string]store.Entry{}}
	if err := r.Swap(older); err != nil || r.Revision() != snap.Revision {
		t.Fatal("an older snapshot replaced a newer one")
	}
}
