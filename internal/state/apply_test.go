package state

import (
	"bytes"
	"crypto/rand"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/attestd/attestd/crypto/secret"
	"github.com/attestd/attestd/internal/model"
	"github.com/attestd/attestd/store"
)

func TestApplyStoresSealedAndDecodes(t *testing.T) {
	seal := newTestSealer(t)
	b := acmeBundle(t)
	ch, err := Apply(emptySnap(), b, seal, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"accounts/acme", "accounts/other", "apps/com.example.shop", "apps/com.other.app", BansKey, DeploymentKey} {
		if _, ok := ch.Put[k]; !ok {
			t.Errorf("no put for %s", k)
		}
	}
	for k, v := range ch.Put {
		for _, plain := range []string{"SECRET-maps-value-0001", hsSecret("A"), hsSecret("B")} {
			if bytes.Contains(v, []byte(plain)) {
				t.Errorf("%s stores a secret in clear", k)
			}
		}
	}
	snap := commit(t, emptySnap(), ch)
	reg, err := DecodeAll(snap, seal)
	if err != nil {
		t.Fatal(err)
	}
	if got := reg.Accounts["acme"]; !reflect.DeepEqual(got, &b.Accounts[0]) {
		t.Errorf("account round trip:\n got %+v\nwant %+v", got, b.Accounts[0])
	}
	if got := reg.Apps["com.other.app"]; !reflect.DeepEqual(got, &b.Apps[1]) {
		t.Errorf("app round trip: got %+v", got)
	}
	if string(reg.Accounts["acme"].Secrets[0].Value.Reveal()) != "SECRET-maps-value-0001" {
		t.Error("secret value lost")
	}
	if reg.Deployment == nil || reg.Deployment.Nonce.Active != "n1" || reg.Deployment.Nonce.ActiveKey().Len() != 32 {
		t.Errorf("deployment: %+v", reg.Deployment)
	}
}

func TestApplyIsIdempotent(t *testing.T) {
	seal := newTestSealer(t)
	snap := run(t, emptySnap(), func(s *store.Snapshot) (store.Changes, error) {
		return Apply(s, acmeBundle(t), seal, rand.Reader)
	})
	ch, err := Apply(snap, acmeBundle(t), seal, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	if !ch.Empty() {
		t.Errorf("re-import of the same bundle writes %d keys", len(ch.Put))
	}
}

func TestApplyReplacesNamedKeepsOthers(t *testing.T) {
	seal := newTestSealer(t)
	snap := run(t, emptySnap(), func(s *store.Snapshot) (store.Changes, error) {
		return Apply(s, acmeBundle(t), seal, rand.Reader)
	})
	// A bundle naming only acme, without its secrets/apis/pins: the stored
	// acme is replaced whole, "other" and both apps stay.
	nb := &model.Bundle{Accounts: []model.Account{{
		ID:   "acme",
		Keys: []model.Key{{KID: "k9", Alg: model.AlgHS256, Status: model.StatusActive, Secret: secret.FromString(hsSecret("C"))}},
	}}}
	snap = run(t, snap, func(s *store.Snapshot) (store.Changes, error) { return Apply(s, nb, seal, rand.Reader) })
	reg, err := DecodeAll(snap, seal)
	if err != nil {
		t.Fatal(err)
	}
	acme := reg.Accounts["acme"]
	if len(acme.Keys) != 1 || acme.Keys[0].KID != "k9" || len(acme.Secrets) != 0 || len(acme.Pins) != 0 || len(acme.APIs) != 0 {
		t.Errorf("acme not replaced whole: %+v", acme)
	}
	if reg.Accounts["other"] == nil || len(reg.Apps) != 2 || reg.Bans == nil || len(reg.Bans.Devices) != 1 {
		t.Errorf("records not named by the bundle changed: %+v", reg)
	}
	// An empty ban list replaces the stored one.
	snap = run(t, snap, func(s *store.Snapshot) (store.Changes, error) {
		return Apply(s, &model.Bundle{Bans: &model.Bans{}}, seal, rand.Reader)
	})
	reg, _ = DecodeAll(snap, seal)
	if len(reg.Bans.Devices) != 0 {
		t.Errorf("bans not replaced: %v", reg.Bans.Devices)
	}
}

func TestApplyRefusesInvalid(t *testing.T) {
	seal := newTestSealer(t)
	cases := []struct {
		name  string
		edit  func(b *model.Bundle)
		field string
	}{
		{"bad-key-secret", func(b *model.Bundle) { b.Accounts[0].Keys[0].Secret = secret.FromString("not base64!") }, "accounts[0].keys[0].secret"},
		{"bad-signer", func(b *model.Bundle) { b.Apps[1].Signers[0] = "short" }, "apps[1].signers[0]"},
		{"app-unknown-account", func(b *model.Bundle) { b.Apps[0].Account = "nobody" }, `apps["com.example.shop"].account`},
		{"secret-for-foreign-app", func(b *model.Bundle) { b.Accounts[0].Secrets[0].Apps = []string{"com.other.app"} }, `accounts["acme"].secrets[0].apps[0]`},
		{"redacted-secret", func(b *model.Bundle) { b.Accounts[0].Secrets[0].Value = secret.FromString(secret.Redacted) }, "accounts[0].secrets[0].value"},
		{"redacted-key", func(b *model.Bundle) { b.Accounts[1].Keys[0].Secret = secret.FromString(secret.Redacted) }, "accounts[1].keys[0].secret"},
		{"bad-ban", func(b *model.Bundle) { b.Bans.Devices = append(b.Bans.Devices, "x") }, "bans.devices[1]"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b := acmeBundle(t)
			c.edit(b)
			ch, err := Apply(emptySnap(), b, seal, rand.Reader)
			if !errors.Is(err, model.ErrInvalid) {
				t.Fatalf("err = %v, want ErrInvalid", err)
			}
			if !strings.Contains(err.Error(), c.field) {
				t.Errorf("error %q does not name %s", err, c.field)
			}
			if !ch.Empty() {
				t.Error("changes returned with an error")
			}
		})
	}
}

func TestApplyRefusesStateOfAnotherMasterKey(t *testing.T) {
	snap := run(t, emptySnap(), func(s *store.Snapshot) (store.Changes, error) {
		return Apply(s, acmeBundle(t), newTestSealer(t), rand.Reader)
	})
	_, err := Apply(snap, &model.Bundle{Bans: &model.Bans{}}, newTestSealer(t), rand.Reader)
	if !errors.Is(err, ErrCorrupt) {
		t.Fatalf("err = %v, want ErrCorrupt", err)
	}
}

func TestSealedValueBoundToItsPlace(t *testing.T) {
	seal := newTestSealer(t)
	snap := run(t, emptySnap(), func(s *store.Snapshot) (store.Changes, error) {
		return Apply(s, acmeBundle(t), seal, rand.Reader)
	})
	// Copy acme's record under another key (with that id): nothing opens.
	e, _ := snap.Get("accounts/acme")
	moved := bytes.Replace(e.Value, []byte(`"id":"acme"`), []byte(`"id":"evil"`), 1)
	if _, err := DecodeAccount("accounts/evil", moved, seal); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("moved record decoded: %v", err)
	}
	if _, err := DecodeAccount("accounts/other", e.Value, seal); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("record under another key decoded: %v", err)
	}
}

func TestEncodeAccountNoSecretInErrors(t *testing.T) {
	seal := newTestSealer(t)
	_, err := DecodeAccount("accounts/acme", []byte(`{"id":"acme","keys":[{"kid":"k1","alg":"HS256","status":"active","secret":"garbage"}]}`), seal)
	if !errors.Is(err, ErrCorrupt) || strings.Contains(err.Error(), "garbage") {
		t.Fatalf("err = %v", err)
	}
}
