package state

import (
	"crypto/rand"
	"errors"
	"strings"
	"testing"

	"github.com/attestd/attestd/crypto/secret"
	"github.com/attestd/attestd/internal/model"
	"github.com/attestd/attestd/store"
)

func seeded(t *testing.T, seal Sealer) *store.Snapshot {
	t.Helper()
	return run(t, emptySnap(), func(s *store.Snapshot) (store.Changes, error) {
		return Apply(s, acmeBundle(t), seal, rand.Reader)
	})
}

func statuses(t *testing.T, snap *store.Snapshot, seal Sealer, id string) string {
	t.Helper()
	e, _ := snap.Get(AccountKey(id))
	a, err := DecodeAccount(AccountKey(id), e.Value, seal)
	if err != nil {
		t.Fatal(err)
	}
	var parts []string
	for _, k := range a.Keys {
		parts = append(parts, k.KID+":"+k.Alg+":"+k.Status)
	}
	return strings.Join(parts, ",")
}

func TestKeyRotationFlow(t *testing.T) {
	seal := newTestSealer(t)
	snap := seeded(t, seal)
	for _, alg := range []string{model.AlgES256, model.AlgEdDSA, model.AlgHS256} {
		k, err := GenerateKey(alg, "", rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		if err := model.ValidateKeyMaterial("k", k); err != nil {
			t.Fatalf("%s: generated key invalid: %v", alg, err)
		}
		var kid string
		snap = run(t, snap, AddKey(seal, "acme", k, &kid))
		if kid == "" {
			t.Fatal("no kid chosen")
		}
	}
	if got, want := statuses(t, snap, seal, "acme"), "k1:HS256:active,k2:ES256:verify,k3:EdDSA:verify,k4:HS256:verify"; got != want {
		t.Fatalf("after add: %s, want %s", got, want)
	}
	snap = run(t, snap, ActivateKey(seal, "acme", "k2"))
	if got, want := statuses(t, snap, seal, "acme"), "k1:HS256:verify,k2:ES256:active,k3:EdDSA:verify,k4:HS256:verify"; got != want {
		t.Fatalf("after activate: %s, want %s", got, want)
	}
	snap = run(t, snap, RetireKey(seal, "acme", "k1"))
	if got, want := statuses(t, snap, seal, "acme"), "k1:HS256:retired,k2:ES256:active,k3:EdDSA:verify,k4:HS256:verify"; got != want {
		t.Fatalf("after retire: %s, want %s", got, want)
	}
	for name, m := range map[string]Mutation{
		"retire-active":    RetireKey(seal, "acme", "k2"),
		"activate-retired": ActivateKey(seal, "acme", "k1"),
		"duplicate-kid":    AddKey(seal, "acme", model.Key{KID: "k3", Alg: model.AlgHS256, Secret: secret.FromString(hsSecret("Z"))}, nil),
	} {
		if _, err := m(snap); !errors.Is(err, ErrRefused) {
			t.Errorf("%s: err = %v, want ErrRefused", name, err)
		}
	}
	for name, m := range map[string]Mutation{
		"unknown-kid":     ActivateKey(seal, "acme", "k99"),
		"unknown-account": RetireKey(seal, "nobody", "k1"),
	} {
		if _, err := m(snap); !errors.Is(err, ErrNotFound) {
			t.Errorf("%s: err = %v, want ErrNotFound", name, err)
		}
	}
	bad := model.Key{KID: "bad", Alg: model.AlgHS256, Secret: secret.FromString("c2hvcnQ=")}
	if _, err := AddKey(seal, "acme", bad, nil)(snap); !errors.Is(err, model.ErrInvalid) || !strings.Contains(err.Error(), "keys[4].secret") {
		t.Errorf("short key: err = %v", err)
	}
}

func TestSecretMutations(t *testing.T) {
	seal := newTestSealer(t)
	snap := seeded(t, seal)
	snap = run(t, snap, PutSecret(seal, "acme", "new_key", secret.FromString("v1"), []string{"com.example.shop"}))
	snap = run(t, snap, PutSecret(seal, "acme", "new_key", secret.FromString("v2"), nil))
	reg, _ := DecodeAll(snap, seal)
	s := reg.Accounts["acme"].Secrets[1]
	if s.Name != "new_key" || string(s.Value.Reveal()) != "v2" || len(s.Apps) != 1 {
		t.Fatalf("put: %+v apps=%v", s.Name, s.Apps)
	}
	snap = run(t, snap, AssignSecret(seal, "acme", "new_key", nil))
	reg, _ = DecodeAll(snap, seal)
	if len(reg.Accounts["acme"].Secrets[1].Apps) != 0 {
		t.Fatal("assign did not clear apps")
	}
	if _, err := AssignSecret(seal, "acme", "new_key", []string{"com.other.app"})(snap); !errors.Is(err, model.ErrInvalid) {
		t.Errorf("assign to another account's app: %v", err)
	}
	// maps_api_key is injected by the maps API: deleting it is invalid.
	if _, err := DeleteSecret(seal, "acme", "maps_api_key")(snap); !errors.Is(err, model.ErrInvalid) || !strings.Contains(err.Error(), "inject.secret") {
		t.Errorf("delete injected secret: %v", err)
	}
	snap = run(t, snap, DeleteSecret(seal, "acme", "new_key"))
	reg, _ = DecodeAll(snap, seal)
	if len(reg.Accounts["acme"].Secrets) != 1 {
		t.Fatal("delete failed")
	}
	if _, err := DeleteSecret(seal, "acme", "new_key")(snap); !errors.Is(err, ErrNotFound) {
		t.Errorf("delete missing: %v", err)
	}
}

func TestPinMutations(t *testing.T) {
	seal := newTestSealer(t)
	snap := seeded(t, seal)
	p3, p4 := digestB64("p3"), digestB64("p4")
	if _, err := AddPins(seal, "acme", "new.example.com", []string{p3}, false)(snap); !errors.Is(err, ErrRefused) {
		t.Fatalf("single pin: %v", err)
	}
	snap = run(t, snap, AddPins(seal, "acme", "New.Example.com", []string{p3, p4}, false))
	snap = run(t, snap, AddPins(seal, "acme", "solo.example.com", []string{p3}, true))
	if _, err := RemovePin(seal, "acme", "new.example.com", p3, false)(snap); !errors.Is(err, ErrRefused) {
		t.Fatalf("remove to single: %v", err)
	}
	snap = run(t, snap, RemovePin(seal, "acme", "new.example.com", p3, true))
	snap = run(t, snap, RemovePin(seal, "acme", "solo.example.com", p3, false))
	reg, _ := DecodeAll(snap, seal)
	pins := reg.Accounts["acme"].Pins
	if len(pins["new.example.com"]) != 1 || pins["solo.example.com"] != nil || len(pins["api.example.com"]) != 2 {
		t.Fatalf("pins: %v", pins)
	}
	if _, err := AddPins(seal, "acme", "x.example.com", []string{"bad", "pins"}, false)(snap); !errors.Is(err, model.ErrInvalid) {
		t.Errorf("bad pin: %v", err)
	}
}

func TestBanMutations(t *testing.T) {
	seal := newTestSealer(t)
	snap := emptySnap()
	d := digestB64u("dev2")
	snap = run(t, snap, AddBan(d))
	if ch, _ := AddBan(d)(snap); !ch.Empty() {
		t.Error("adding a ban twice changes the store")
	}
	if _, err := AddBan("not-a-did")(snap); !errors.Is(err, model.ErrInvalid) {
		t.Errorf("bad did: %v", err)
	}
	reg, _ := DecodeAll(snap, seal)
	if len(reg.Bans.Devices) != 1 {
		t.Fatal(reg.Bans)
	}
	snap = run(t, snap, RemoveBan(d))
	if _, err := RemoveBan(d)(snap); !errors.Is(err, ErrNotFound) {
		t.Errorf("remove missing: %v", err)
	}
}
