package etcdstore

import (
	"fmt"
	"sync"
	"testing"

	"github.com/attestd/attestd/crypto/envelope"
	"github.com/attestd/attestd/crypto/secret"
	"github.com/attestd/attestd/internal/etcdtest"
	"github.com/attestd/attestd/internal/recordauth"
	"github.com/attestd/attestd/store"
)

// TestRacingAuthenticatedWritersKeepOneManifest: writers racing on one
// etcd prefix (each Update retried on conflict, the manifest computed
// inside it) leave a store that verifies, holding every write, at one
// generation per committed change.
func TestRacingAuthenticatedWritersKeepOneManifest(t *testing.T) {
	c := etcdtest.Start(t, etcdtest.Options{Members: 1})
	key := make([]byte, envelope.KeySize)
	kr, err := envelope.NewKeyring("m1", map[string]secret.Value{"m1": secret.New(key)})
	if err != nil {
		t.Fatal(err)
	}
	const writers, each = 4, 5
	var wg sync.WaitGroup
	errs := make(chan error, writers*each)
	for w := range writers {
		st := recordauth.Wrap(open(t, c.Endpoints(), "p", func(o *Options) { o.MaxUpdateTries = 50 }), kr)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				_, err := st.Update(ctxT(t), func(*store.Snapshot) (store.Changes, error) {
					return store.Changes{Put: map[string][]byte{fmt.Sprintf("w%d/%d", w, i): []byte(`{"n":1}`)}}, nil
				})
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	raw, err := open(t, c.Endpoints(), "p", nil).Load(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	res, err := recordauth.Verify(raw, kr, recordauth.Floor{})
	if err != nil {
		t.Fatalf("after racing writers: %v", err)
	}
	if len(res.Snapshot.Entries) != writers*each || res.Floor.Generation != writers*each {
		t.Fatalf("%d records at generation %d, want %d at %d", len(res.Snapshot.Entries), res.Floor.Generation, writers*each, writers*each)
	}
}
