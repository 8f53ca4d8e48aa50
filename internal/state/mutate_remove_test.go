package state

import (
	"crypto/rand"
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/attestd/attestd/crypto/secret"
	"github.com/attestd/attestd/internal/model"
	"github.com/attestd/attestd/store"
)

// lifecycleSnap is acmeBundle plus a second acme app that shares the maps
// secret, a secret released only to the shop app, and deployment keys.
func lifecycleSnap(t *testing.T, seal Sealer) *store.Snapshot {
	t.Helper()
	snap := seeded(t, seal)
	var b model.Bundle
	reg, err := DecodeAll(snap, seal)
	if err != nil {
		t.Fatal(err)
	}
	shop := *reg.Apps["com.example.shop"]
	second := shop
	second.ID = "com.example.second"
	acme := *reg.Accounts["acme"]
	acme.Secrets = []model.Secret{
		{Name: "maps_api_key", Value: secret.FromString("SECRET-maps-value-0001"), Apps: []string{"com.example.shop", "com.example.second"}},
		{Name: "shop_only", Value: secret.FromString("SECRET-shop-only-0002"), Apps: []string{"com.example.shop"}},
		{Name: "nobody", Value: secret.FromString("SECRET-nobody-0003")},
	}
	b.Accounts = []model.Account{acme}
	b.Apps = []model.App{second}
	return run(t, snap, func(s *store.Snapshot) (store.Changes, error) { return Apply(s, &b, seal, rand.Reader) })
}

func TestRemoveAppLeavesNoOrphan(t *testing.T) {
	seal := newTestSealer(t)
	snap := lifecycleSnap(t, seal)
	var rm Removal
	ch, err := RemoveApp(seal, "acme", "com.example.shop", &rm)(snap)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(ch.Delete, []string{"apps/com.example.shop"}) || len(ch.Put) != 1 || ch.Put["accounts/acme"] == nil {
		t.Fatalf("changes: delete %v put %d", ch.Delete, len(ch.Put))
	}
	want := Removal{Account: "acme", Apps: []string{"com.example.shop"}, Secrets: []string{"maps_api_key", "shop_only"}, APIs: []string{}, Keys: []string{}}
	if !reflect.DeepEqual(rm, want) {
		t.Errorf("removal %+v, want %+v", rm, want)
	}
	snap = commit(t, snap, ch)
	reg, err := DecodeAll(snap, seal)
	if err != nil {
		t.Fatal(err)
	}
	if reg.Apps["com.example.shop"] != nil || reg.Apps["com.example.second"] == nil || reg.Apps["com.other.app"] == nil {
		t.Fatalf("apps left: %v", sortedIDs(reg.Apps))
	}
	acme := reg.Accounts["acme"]
	for _, s := range acme.Secrets {
		if slices.Contains(s.Apps, "com.example.shop") {
			t.Errorf("secret %s still released to the removed app", s.Name)
		}
	}
	// The secrets themselves belong to the account and stay, values intact.
	if len(acme.Secrets) != 3 || string(acme.Secrets[1].Value.Reveal()) != "SECRET-shop-only-0002" || !slices.Equal(acme.Secrets[0].Apps, []string{"com.example.second"}) {
		t.Errorf("secrets after: %v", acme.Secrets)
	}
	if reg.Bans == nil || len(reg.Bans.Devices) != 1 || len(acme.APIs) != 1 || len(acme.Pins) != 1 {
		t.Error("bans, apis or pins changed")
	}
	if err := model.ValidateState(reg.Accounts, reg.Apps); err != nil {
		t.Errorf("state after removal: %v", err)
	}
}

func TestRemoveAppWithoutSecretsOnlyDeletes(t *testing.T) {
	seal := newTestSealer(t)
	snap := seeded(t, seal)
	ch, err := RemoveApp(seal, "other", "com.other.app", nil)(snap)
	if err != nil {
		t.Fatal(err)
	}
	if len(ch.Put) != 0 || !slices.Equal(ch.Delete, []string{"apps/com.other.app"}) {
		t.Fatalf("changes: put %d delete %v", len(ch.Put), ch.Delete)
	}
}

func TestRemoveAccountTakesEverythingUnderIt(t *testing.T) {
	seal := newTestSealer(t)
	snap := lifecycleSnap(t, seal)
	var rm Removal
	ch, err := RemoveAccount(seal, "acme", &rm)(snap)
	if err != nil {
		t.Fatal(err)
	}
	if len(ch.Put) != 0 || !slices.Equal(ch.Delete, []string{"accounts/acme", "apps/com.example.second", "apps/com.example.shop"}) {
		t.Fatalf("changes: put %d delete %v", len(ch.Put), ch.Delete)
	}
	want := Removal{Account: "acme", AccountRemoved: true, Apps: []string{"com.example.second", "com.example.shop"},
		Secrets: []string{"maps_api_key", "shop_only", "nobody"}, APIs: []string{"maps"}, Keys: []string{"k1"}}
	if !reflect.DeepEqual(rm, want) {
		t.Errorf("removal %+v, want %+v", rm, want)
	}
	snap = commit(t, snap, ch)
	reg, err := DecodeAll(snap, seal)
	if err != nil {
		t.Fatal(err)
	}
	if reg.Accounts["acme"] != nil || reg.Accounts["other"] == nil || len(reg.Apps) != 1 || reg.Apps["com.other.app"] == nil {
		t.Fatalf("after: accounts %v apps %v", sortedIDs(reg.Accounts), sortedIDs(reg.Apps))
	}
	for k := range snap.Entries {
		if strings.Contains(k, "acme") || strings.Contains(k, "com.example") {
			t.Errorf("left behind: %s", k)
		}
	}
	// The freed API name can be used by another account now.
	api := model.API{Name: "maps", Upstream: "https://maps.example.org", Inject: model.Inject{Header: "X-K", Secret: "s"}}
	snap = run(t, snap, PutSecret(seal, "other", "s", secret.FromString("v"), nil))
	run(t, snap, PutAPI(seal, "other", api, APIStated{}))
}

func TestRemoveNotFound(t *testing.T) {
	seal := newTestSealer(t)
	snap := seeded(t, seal)
	for name, c := range map[string]struct {
		m    Mutation
		want string
	}{
		"account/unknown":      {RemoveAccount(seal, "nobody", nil), `account "nobody"`},
		"app/unknown-account":  {RemoveApp(seal, "nobody", "com.example.shop", nil), `account "nobody"`},
		"app/unknown-app":      {RemoveApp(seal, "acme", "com.example.none", nil), `app "com.example.none" of account "acme"`},
		"app/of-other-account": {RemoveApp(seal, "acme", "com.other.app", nil), `app "com.other.app" of account "acme"`},
	} {
		t.Run(name, func(t *testing.T) {
			ch, err := c.m(snap)
			if !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want ErrNotFound naming %s", err, c.want)
			}
			if !ch.Empty() {
				t.Error("changes returned with an error")
			}
		})
	}
}

func TestRemoveRefusesStateItCannotOpen(t *testing.T) {
	snap := seeded(t, newTestSealer(t))
	other := newTestSealer(t)
	for name, m := range map[string]Mutation{
		"account": RemoveAccount(other, "acme", nil),
		"app":     RemoveApp(other, "acme", "com.example.shop", nil),
	} {
		if _, err := m(snap); !errors.Is(err, ErrCorrupt) {
			t.Errorf("%s: err = %v, want ErrCorrupt", name, err)
		}
	}
}
