package recordauth

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/attestd/attestd/crypto/envelope"
	"github.com/attestd/attestd/store"
)

// wantRefused asserts Verify refuses raw with class and names key.
func wantRefused(t *testing.T, raw *store.Snapshot, kr Keys, floor Floor, class error, key string) {
	t.Helper()
	_, err := Verify(raw, kr, floor)
	var e *Error
	if !errors.As(err, &e) || !errors.Is(err, class) {
		t.Fatalf("Verify = %v, want %v", err, class)
	}
	for _, p := range e.Problems {
		if p.Key == key {
			return
		}
	}
	t.Fatalf("Verify = %v: does not name %s", err, key)
}

func TestGenuineStoreVerifiesAndStrips(t *testing.T) {
	kr := keyring(t, "m1")
	m := genuine(t, kr)
	res := mustVerify(t, m.cur, kr, Floor{})
	if res.Floor.Generation != 1 {
		t.Fatalf("generation %d", res.Floor.Generation)
	}
	if e, _ := res.Snapshot.Get(appKey); string(e.Value) != appValue {
		t.Fatalf("stripped app = %s", e.Value)
	}
	if _, ok := res.Snapshot.Get(ManifestKey); ok {
		t.Fatal("the manifest is in the stripped snapshot")
	}
	m.update(t, Authenticated(kr, del(bansKey)))
	res2 := mustVerify(t, m.cur, kr, res.Floor)
	if res2.Floor.Generation != 2 || len(res2.Snapshot.Entries) != 2 {
		t.Fatalf("after a delete: %+v", res2.Floor)
	}
	if e, _ := m.cur.Get(appKey); string(e.Value) == appValue || !strings.Contains(string(e.Value), `"_auth":"a1:m1:1:`) {
		t.Fatalf("stored app = %s", e.Value)
	}
}

// TestForgedAppRecordRefused: an app added by writing the store without
// the master key (own signer) is refused, tagged or not, and so is an
// edit of a genuine record's bytes (a secret's apps).
func TestForgedAppRecordRefused(t *testing.T) {
	kr := keyring(t, "m1")
	forged := `{"id":"com.evil","account":"acme","platform":"android","signers":["evil"]}`
	t.Run("untagged", func(t *testing.T) {
		m := genuine(t, kr)
		m.set("apps/com.evil", []byte(forged))
		wantRefused(t, m.cur, kr, Floor{}, ErrUnauthenticated, "apps/com.evil")
	})
	t.Run("tag-of-another-record", func(t *testing.T) {
		m := genuine(t, kr)
		e, _ := m.cur.Get(appKey)
		_, tagStr, _ := split(e.Value)
		m.set("apps/com.evil", attach([]byte(forged), tagStr))
		wantRefused(t, m.cur, kr, Floor{}, ErrForged, "apps/com.evil")
	})
	t.Run("genuine-record-moved", func(t *testing.T) {
		m := genuine(t, kr)
		e, _ := m.cur.Get(appKey)
		m.set("apps/com.evil", e.Value)
		wantRefused(t, m.cur, kr, Floor{}, ErrForged, "apps/com.evil")
	})
	t.Run("secret-reassigned", func(t *testing.T) {
		m := genuine(t, kr)
		e, _ := m.cur.Get(acctKey)
		m.set(acctKey, []byte(strings.Replace(string(e.Value), `"apps":["com.example.shop"]`, `"apps":["com.example.shop","com.evil"]`, 1)))
		wantRefused(t, m.cur, kr, Floor{}, ErrForged, acctKey)
	})
	t.Run("tagged-under-another-master-key", func(t *testing.T) {
		m := genuine(t, kr)
		other := keyring(t, "m1x")
		tagStr, _ := sign(other, "apps/com.evil", 1, []byte(forged))
		m.set("apps/com.evil", attach([]byte(forged), strings.Replace(tagStr, "m1x", "m1", 1)))
		wantRefused(t, m.cur, kr, Floor{}, ErrForged, "apps/com.evil")
	})
	t.Run("manifest-rewritten", func(t *testing.T) {
		m := genuine(t, kr)
		m.set("apps/com.evil", []byte(forged))
		e, _ := m.cur.Get(ManifestKey)
		m.set(ManifestKey, []byte(strings.Replace(string(e.Value), `"records":{`, `"records":{"apps/com.evil":1,`, 1)))
		wantRefused(t, m.cur, kr, Floor{}, ErrForged, ManifestKey)
	})
}

// TestRecordRemovalRefused: a record deleted without the master key (a
// ban lifted) is refused, and so is the manifest's removal.
func TestRecordRemovalRefused(t *testing.T) {
	kr := keyring(t, "m1")
	m := genuine(t, kr)
	m.del(bansKey)
	wantRefused(t, m.cur, kr, Floor{}, ErrMismatch, bansKey)
	m2 := genuine(t, kr)
	floor := mustVerify(t, m2.cur, kr, Floor{}).Floor
	m2.del(ManifestKey)
	wantRefused(t, m2.cur, kr, floor, ErrUnauthenticated, ManifestKey)
	for _, k := range []string{appKey, acctKey, bansKey} {
		m2.del(k)
	}
	wantRefused(t, m2.cur, kr, floor, ErrRollback, ManifestKey)
}

// TestRecordRollbackRefused: a genuine older copy of a record (or of the
// whole store) put back without the master key is refused.
func TestRecordRollbackRefused(t *testing.T) {
	kr := keyring(t, "m1")
	m := genuine(t, kr)
	old := m.cur
	oldAcct, _ := old.Get(acctKey)
	m.update(t, Authenticated(kr, put(map[string]string{acctKey: `{"id":"acme","secrets":[]}`})))
	floor := mustVerify(t, m.cur, kr, Floor{}).Floor

	t.Run("one-record", func(t *testing.T) {
		r := &mem{cur: m.cur}
		r.set(acctKey, oldAcct.Value)
		wantRefused(t, r.cur, kr, Floor{}, ErrMismatch, acctKey)
	})
	t.Run("record-and-manifest", func(t *testing.T) {
		r := &mem{cur: m.cur}
		r.set(acctKey, oldAcct.Value)
		oldMan, _ := old.Get(ManifestKey)
		r.set(ManifestKey, oldMan.Value)
		wantRefused(t, r.cur, kr, floor, ErrRollback, ManifestKey)
	})
	t.Run("removed-record-added-back", func(t *testing.T) {
		r := &mem{cur: m.cur}
		r.update(t, Authenticated(kr, del(bansKey)))
		oldBans, _ := old.Get(bansKey)
		r.set(bansKey, oldBans.Value)
		wantRefused(t, r.cur, kr, Floor{}, ErrMismatch, bansKey)
	})
	t.Run("whole-store", func(t *testing.T) {
		wantRefused(t, old, kr, floor, ErrRollback, ManifestKey)
		if _, err := Verify(old, kr, Floor{}); err != nil {
			t.Fatalf("without a floor the old state is genuine: %v", err)
		}
	})
}

// TestSameGenerationOtherStateRefused: two genuine states of one
// generation (a writer that lost an etcd race, its change seen by whoever
// controls etcd): a node that accepted one refuses the other, and within
// one snapshot a record from the other is a substitution.
func TestSameGenerationOtherStateRefused(t *testing.T) {
	kr := keyring(t, "m1")
	base := genuine(t, kr)
	a, b := &mem{cur: base.cur}, &mem{cur: base.cur}
	a.update(t, Authenticated(kr, put(map[string]string{bansKey: `{"devices":["a"]}`})))
	b.update(t, Authenticated(kr, put(map[string]string{bansKey: `{"devices":["b"]}`})))
	fa := mustVerify(t, a.cur, kr, Floor{}).Floor
	wantRefused(t, b.cur, kr, fa, ErrRollback, ManifestKey)
	eb, _ := b.cur.Get(bansKey)
	a.set(bansKey, eb.Value)
	wantRefused(t, a.cur, kr, Floor{}, ErrMismatch, ManifestKey)
}

func TestUnauthenticatedStoreRefused(t *testing.T) {
	kr := keyring(t, "m1")
	m := newMem()
	m.set(appKey, []byte(appValue))
	wantRefused(t, m.cur, kr, Floor{}, ErrUnauthenticated, ManifestKey)
	if _, err := Verify(newMem().cur, kr, Floor{}); err != nil {
		t.Fatalf("an empty store: %v", err)
	}
	ch, err := Authenticated(kr, put(map[string]string{bansKey: bansValue}))(m.cur)
	if err == nil || !errors.Is(err, ErrUnauthenticated) || !ch.Empty() {
		t.Fatalf("a writer on an unauthenticated store: %v %+v", err, ch)
	}
}

// TestRotationKeepsVerifying: records tagged under a key that is still
// listed verify; a node without the new key sees ErrUnknownKey (which
// wraps envelope.ErrUnknownKey, so it re-reads its key file); Retag moves
// every tag to the active key in batches.
func TestRotationKeepsVerifying(t *testing.T) {
	old := keyring(t, "m1")
	m := genuine(t, old)
	both := keyring(t, "m2", "m1")
	m.update(t, Authenticated(both, put(map[string]string{bansKey: `{"devices":[]}`})))
	mustVerify(t, m.cur, both, Floor{})
	_, err := Verify(m.cur, old, Floor{})
	if !errors.Is(err, ErrUnknownKey) || !errors.Is(err, envelope.ErrUnknownKey) {
		t.Fatalf("a node without m2: %v", err)
	}
	for i := 0; ; i++ {
		var n int
		ch, err := func() (store.Changes, error) {
			res := mustVerify(t, m.cur, both, Floor{})
			return seal(both, res, store.Changes{}, sealOptions{retag: 1, retagged: &n})
		}()
		if err != nil {
			t.Fatal(err)
		}
		m.apply(ch)
		if n == 0 {
			break
		}
		if i > 5 {
			t.Fatal("retag does not end")
		}
	}
	res := mustVerify(t, m.cur, keyring(t, "m2"), Floor{})
	if k := res.KeyIDs(); k["m1"] != 0 || k["m2"] != 4 {
		t.Fatalf("after retag: %v", k)
	}
}

func TestWriterRefusesReservedAndNonObjects(t *testing.T) {
	kr := keyring(t, "m1")
	m := genuine(t, kr)
	for name, kv := range map[string]map[string]string{
		"manifest-key": {ManifestKey: `{}`},
		"tag-member":   {appKey: `{"id":"x","_auth":"a1:m1:1:x"}`},
		"array":        {appKey: `[1]`},
		"not-json":     {appKey: `{`},
	} {
		if _, err := Authenticated(kr, put(kv))(m.cur); !errors.Is(err, ErrReserved) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := Authenticated(kr, del(ManifestKey))(m.cur); !errors.Is(err, ErrReserved) {
		t.Errorf("delete manifest: %v", err)
	}
}

// TestManifestSizeIsBounded: a change whose manifest would pass
// MaxManifestBytes is refused, naming the limit, and writes nothing.
func TestManifestSizeIsBounded(t *testing.T) {
	kr := keyring(t, "m1")
	kv := map[string]string{}
	for i := range MaxManifestBytes / 40 {
		kv[fmt.Sprintf("apps/%035d", i)] = `{}`
	}
	ch, err := Authenticated(kr, put(kv))(newMem().cur)
	if !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), "25 000") || !ch.Empty() {
		t.Fatalf("a manifest over the bound: %v", err)
	}
}
