package state

import (
	"bytes"
	"errors"
	"maps"
	"reflect"
	"slices"
	"testing"

	"github.com/attestd/attestd/crypto/envelope"
	"github.com/attestd/attestd/store"
)

// keyrings returns a key set holding m1 (active) and m2 (listed), the
// keyring of m1 alone, and the keyring of both with m2 active.
func keyrings(t *testing.T) (old, both, onlyNew *envelope.Keyring) {
	t.Helper()
	ks, err := envelope.ParseKeySet(mustKeyFile(t, "m1"))
	if err != nil {
		t.Fatal(err)
	}
	if old, err = ks.Keyring(); err != nil {
		t.Fatal(err)
	}
	if err := ks.Add("m2", nil); err != nil {
		t.Fatal(err)
	}
	if err := ks.Activate("m2"); err != nil {
		t.Fatal(err)
	}
	if both, err = ks.Keyring(); err != nil {
		t.Fatal(err)
	}
	if err := ks.Remove("m1"); err != nil {
		t.Fatal(err)
	}
	if onlyNew, err = ks.Keyring(); err != nil {
		t.Fatal(err)
	}
	return old, both, onlyNew
}

func mustKeyFile(t *testing.T, kid string) []byte {
	t.Helper()
	f, err := envelope.NewKeyFile(kid, nil)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func TestResealMovesEverySealedValueToTheNewKey(t *testing.T) {
	old, both, onlyNew := keyrings(t)
	snap := seeded(t, old)
	before, err := DecodeAll(snap, old)
	if err != nil {
		t.Fatal(err)
	}
	counts := SealedKeyIDs(snap)
	if len(counts) != 1 || counts["m1"] < 8 {
		t.Fatalf("sealed before: %v", counts)
	}
	var n int
	ch, err := Reseal(both, &n)(snap)
	if err != nil {
		t.Fatal(err)
	}
	if n != counts["m1"] {
		t.Errorf("resealed %d values, store had %d", n, counts["m1"])
	}
	// One change: every account and the deployment record, apps and bans untouched.
	for _, k := range []string{"accounts/acme", "accounts/other", DeploymentKey} {
		if ch.Put[k] == nil {
			t.Errorf("%s not rewritten", k)
		}
	}
	if len(ch.Put) != 3 || len(ch.Delete) != 0 {
		t.Errorf("changes: put %v delete %v", slices.Sorted(maps.Keys(ch.Put)), ch.Delete)
	}
	snap = commit(t, snap, ch)
	if got := SealedKeyIDs(snap); !reflect.DeepEqual(got, map[string]int{"m2": counts["m1"]}) {
		t.Fatalf("sealed after: %v", got)
	}
	// The new key alone opens the whole store, to the same values.
	after, err := DecodeAll(snap, onlyNew)
	if err != nil {
		t.Fatalf("store after reseal does not open under the new key alone: %v", err)
	}
	after.Revision = before.Revision
	if !reflect.DeepEqual(before, after) {
		t.Error("values changed by the reseal")
	}
	if _, err := DecodeAll(snap, old); !errors.Is(err, ErrCorrupt) {
		t.Errorf("old key alone still opens the store: %v", err)
	}
	// Again: nothing left to do.
	ch, err = Reseal(both, &n)(snap)
	if err != nil || !ch.Empty() || n != 0 {
		t.Errorf("second reseal: %v, %d changes, n=%d", err, len(ch.Put), n)
	}
}

func TestResealMixedStore(t *testing.T) {
	old, both, onlyNew := keyrings(t)
	snap := seeded(t, old)
	// A writer with the new key already rewrote "other": only acme and the
	// deployment still need the reseal.
	snap = run(t, snap, func(s *store.Snapshot) (store.Changes, error) {
		e, _ := s.Get("accounts/other")
		a, err := DecodeAccount("accounts/other", e.Value, both)
		if err != nil {
			return store.Changes{}, err
		}
		k, v, err := EncodeAccount(a, both)
		return store.Changes{Put: map[string][]byte{k: v}}, err
	})
	ch, err := Reseal(both, nil)(snap)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := ch.Put["accounts/other"]; ok || ch.Put["accounts/acme"] == nil || ch.Put[DeploymentKey] == nil {
		t.Errorf("rewrote %v", slices.Sorted(maps.Keys(ch.Put)))
	}
	if _, err := DecodeAll(commit(t, snap, ch), onlyNew); err != nil {
		t.Fatal(err)
	}
}

func TestResealRefusals(t *testing.T) {
	old, both, _ := keyrings(t)
	snap := seeded(t, old)
	t.Run("key-not-held", func(t *testing.T) {
		_, _, onlyNew := keyrings(t)
		if ch, err := Reseal(onlyNew, nil)(snap); !errors.Is(err, ErrCorrupt) || !ch.Empty() {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("unknown-record-with-sealed-value", func(t *testing.T) {
		sealed, _ := old.Seal([]byte("x"), "future")
		s := commit(t, snap, store.Changes{Put: map[string][]byte{"future/thing": []byte(`{"v":"` + sealed + `"}`)}})
		if ch, err := Reseal(both, nil)(s); !errors.Is(err, ErrRefused) || !ch.Empty() {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("unknown-deployment-member-with-sealed-value", func(t *testing.T) {
		e, _ := snap.Get(DeploymentKey)
		sealed, _ := old.Seal([]byte("x"), "future")
		v := bytes.Replace(e.Value, []byte("{"), []byte(`{"future_key":"`+sealed+`",`), 1)
		s := commit(t, snap, store.Changes{Put: map[string][]byte{DeploymentKey: v}})
		if ch, err := Reseal(both, nil)(s); !errors.Is(err, ErrRefused) || !ch.Empty() {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("unknown-deployment-member-without-sealed-value-kept", func(t *testing.T) {
		e, _ := snap.Get(DeploymentKey)
		v := bytes.Replace(e.Value, []byte("{"), []byte(`{"future_setting":"plain",`), 1)
		s := commit(t, snap, store.Changes{Put: map[string][]byte{DeploymentKey: v}})
		ch, err := Reseal(both, nil)(s)
		if err != nil || !bytes.Contains(ch.Put[DeploymentKey], []byte(`"future_setting":"plain"`)) {
			t.Fatalf("err = %v, deployment %s", err, ch.Put[DeploymentKey])
		}
	})
}

func TestSealedKeyIDsIgnoresLookalikes(t *testing.T) {
	snap := commit(t, emptySnap(), store.Changes{Put: map[string][]byte{
		"a": []byte(`{"x":"v1:m1:AAAA","y":["v1:m2:BBBB",{"z":"v1:m1:CC"}],"n":1}`),
		"b": []byte(`{"url":"https://v1:m1:x","bad":"v1:m1:AA=","id":"v1::AAAA"}`),
		"c": []byte(`not json`),
	}})
	if got := SealedKeyIDs(snap); !reflect.DeepEqual(got, map[string]int{"m1": 2, "m2": 1}) {
		t.Fatalf("counts %v", got)
	}
}
