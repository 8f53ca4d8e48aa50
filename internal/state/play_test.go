package state

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/attestd/attestd/crypto/secret"
	"github.com/attestd/attestd/internal/model"
	"github.com/attestd/attestd/store"
	"github.com/attestd/attestd/verify/playintegrity/playtest"
)

const playApp = "com.example.shop"

func playKeys(t testing.TB) (model.PlayKeys, *playtest.Issuer) {
	t.Helper()
	iss, err := playtest.NewIssuer()
	if err != nil {
		t.Fatal(err)
	}
	return model.PlayKeys{DecryptionKey: secret.FromString(iss.DecryptionKeyB64()), VerificationKey: secret.FromString(iss.VerificationKeyB64())}, iss
}

// playSeeded is seeded with Play Integrity keys (current and previous) on
// playApp, and returns the keys' text to look for.
func playSeeded(t *testing.T, seal Sealer) (*store.Snapshot, []string) {
	t.Helper()
	cur, _ := playKeys(t)
	prev, _ := playKeys(t)
	b := acmeBundle(t)
	b.Apps[0].PlayIntegrity = &model.PlayIntegrity{PlayKeys: cur, Previous: &prev}
	snap := run(t, emptySnap(), func(s *store.Snapshot) (store.Changes, error) { return Apply(s, b, seal, rand.Reader) })
	var needles []string
	for _, k := range []model.PlayKeys{cur, prev} {
		needles = append(needles, string(k.DecryptionKey.Reveal()), string(k.VerificationKey.Reveal()))
	}
	return snap, needles
}

// TestPlayKeysSealedAtRest: the keys are not in the stored record, read
// back whole, and a sealed key copied to another app or another field does
// not open there (the AAD binds it).
func TestPlayKeysSealedAtRest(t *testing.T) {
	seal := newTestSealer(t)
	snap, needles := playSeeded(t, seal)
	stored := snap.Entries[AppKey(playApp)].Value
	for _, n := range needles {
		if bytes.Contains(stored, []byte(n)) {
			t.Fatalf("stored app record holds a Play Integrity key in clear: %s", stored)
		}
	}
	reg, err := DecodeAll(snap, seal)
	if err != nil {
		t.Fatal(err)
	}
	pi := reg.Apps[playApp].PlayIntegrity
	if pi == nil || pi.Previous == nil || string(pi.DecryptionKey.Reveal()) != needles[0] || string(pi.Previous.VerificationKey.Reveal()) != needles[3] {
		t.Fatalf("keys not read back: %+v", pi)
	}
	var raw map[string]any
	_ = json.Unmarshal(stored, &raw)
	sealedDec := raw["play_integrity"].(map[string]any)["decryption_key"].(string)
	sealedVer := raw["play_integrity"].(map[string]any)["verification_key"].(string)
	for name, edit := range map[string]func() (string, []byte){
		"key-swapped-between-fields": func() (string, []byte) {
			v := bytes.Replace(stored, []byte(sealedDec), []byte("SWAP"), 1)
			v = bytes.Replace(v, []byte(sealedVer), []byte(sealedDec), 1)
			return AppKey(playApp), bytes.Replace(v, []byte("SWAP"), []byte(sealedVer), 1)
		},
		"key-moved-to-another-app": func() (string, []byte) {
			other := snap.Entries[AppKey("com.other.app")].Value
			v := bytes.Replace(other, []byte(`"team_id"`), []byte(`"play_integrity":{"decryption_key":"`+sealedDec+`","verification_key":"`+sealedVer+`"},"team_id"`), 1)
			return AppKey("com.other.app"), v
		},
	} {
		t.Run(name, func(t *testing.T) {
			k, v := edit()
			tampered := commit(t, snap, store.Changes{Put: map[string][]byte{k: v}})
			if _, err := DecodeAll(tampered, seal); !errors.Is(err, ErrCorrupt) {
				t.Fatalf("DecodeAll = %v, want ErrCorrupt", err)
			}
		})
	}
}

// TestPlayKeysRedactedInExport: an export without --reveal-secrets shows
// no key, cannot be imported back over the keys, and a revealed one round
// trips to no change.
func TestPlayKeysRedactedInExport(t *testing.T) {
	seal := newTestSealer(t)
	snap, needles := playSeeded(t, seal)
	b, err := Export(snap, seal, false)
	if err != nil {
		t.Fatal(err)
	}
	out, _ := json.Marshal(b)
	for _, n := range needles {
		if bytes.Contains(out, []byte(n)) {
			t.Fatal("redacted export shows a Play Integrity key")
		}
	}
	if !strings.Contains(string(out), `"decryption_key":"[redacted]"`) {
		t.Errorf("redacted export: %s", out)
	}
	if _, err := Apply(snap, &model.Bundle{Apps: b.Apps}, seal, rand.Reader); err == nil || !strings.Contains(err.Error(), "apps[0].play_integrity.decryption_key") {
		t.Fatalf("redacted export imported: %v", err)
	}
	rb, err := Export(snap, seal, true)
	if err != nil {
		t.Fatal(err)
	}
	js, err := MarshalRevealed(rb)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range needles {
		if !bytes.Contains(js, []byte(n)) {
			t.Fatal("revealed export lacks a key")
		}
	}
	back, err := model.DecodeBundle(bytes.NewReader(js))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, rb) {
		t.Fatalf("revealed round trip differs")
	}
	if ch, err := Apply(snap, back, seal, rand.Reader); err != nil || !ch.Empty() {
		t.Fatalf("re-import: %v, %d puts", err, len(ch.Put))
	}
}

// TestPlayKeyRotation: set, rotate (the current pair stays accepted as the
// previous), rotate again (the oldest is dropped), end the rotation,
// remove; what would leave the app wrong is refused.
func TestPlayKeyRotation(t *testing.T) {
	seal := newTestSealer(t)
	snap := seeded(t, seal)
	k1, _ := playKeys(t)
	k2, _ := playKeys(t)
	k3, _ := playKeys(t)
	keysOf := func(snap *store.Snapshot) *model.PlayIntegrity {
		t.Helper()
		reg, err := DecodeAll(snap, seal)
		if err != nil {
			t.Fatal(err)
		}
		return reg.Apps[playApp].PlayIntegrity
	}
	mustFail := func(m Mutation, want error) {
		t.Helper()
		if _, err := m(snap); !errors.Is(err, want) {
			t.Fatalf("got %v, want %v", err, want)
		}
	}
	mustFail(SetPlayIntegrity(seal, "acme", playApp, k1, true), ErrRefused) // nothing to rotate from
	mustFail(SetPlayIntegrity(seal, "other", playApp, k1, false), ErrNotFound)
	mustFail(SetPlayIntegrity(seal, "acme", "com.other.app", k1, false), ErrNotFound)
	mustFail(SetPlayIntegrity(seal, "other", "com.other.app", k1, false), model.ErrInvalid) // an ios app
	bad := k1
	bad.VerificationKey = secret.FromString("AAAA")
	mustFail(SetPlayIntegrity(seal, "acme", playApp, bad, false), model.ErrInvalid)

	snap = run(t, snap, SetPlayIntegrity(seal, "acme", playApp, k1, false))
	if pi := keysOf(snap); pi == nil || !samePlayKeys(&pi.PlayKeys, &k1) || pi.Previous != nil {
		t.Fatalf("after set: %+v", pi)
	}
	mustFail(SetPlayIntegrity(seal, "acme", playApp, k1, true), ErrRefused) // the same pair
	mustFail(EndPlayRotation(seal, "acme", playApp), ErrRefused)
	snap = run(t, snap, SetPlayIntegrity(seal, "acme", playApp, k2, true))
	if pi := keysOf(snap); !samePlayKeys(&pi.PlayKeys, &k2) || pi.Previous == nil || !samePlayKeys(pi.Previous, &k1) {
		t.Fatalf("after rotate: %+v", pi)
	}
	snap = run(t, snap, SetPlayIntegrity(seal, "acme", playApp, k3, true))
	if pi := keysOf(snap); !samePlayKeys(&pi.PlayKeys, &k3) || !samePlayKeys(pi.Previous, &k2) {
		t.Fatalf("after a second rotate: %+v", pi)
	}
	snap = run(t, snap, EndPlayRotation(seal, "acme", playApp))
	if pi := keysOf(snap); !samePlayKeys(&pi.PlayKeys, &k3) || pi.Previous != nil {
		t.Fatalf("after end: %+v", pi)
	}
	snap = run(t, snap, SetPlayIntegrity(seal, "acme", playApp, k1, true))
	snap = run(t, snap, SetPlayIntegrity(seal, "acme", playApp, k2, false)) // set drops the previous pair
	if pi := keysOf(snap); !samePlayKeys(&pi.PlayKeys, &k2) || pi.Previous != nil {
		t.Fatalf("after set over a rotation: %+v", pi)
	}
	snap = run(t, snap, RemovePlayIntegrity(seal, "acme", playApp))
	if pi := keysOf(snap); pi != nil {
		t.Fatalf("after remove: %+v", pi)
	}
	mustFail(RemovePlayIntegrity(seal, "acme", playApp), ErrNotFound)
}

// TestResealMovesPlayKeys: a master key rotation re-seals the apps' Play
// Integrity keys too, so that the old master key can be retired.
func TestResealMovesPlayKeys(t *testing.T) {
	old, both, onlyNew := keyrings(t)
	snap, needles := playSeeded(t, old)
	var n int
	ch, err := Reseal(both, &n)(snap)
	if err != nil {
		t.Fatal(err)
	}
	if ch.Put[AppKey(playApp)] == nil || ch.Put[AppKey("com.other.app")] != nil {
		t.Fatalf("apps rewritten: %v", ch.Put)
	}
	snap = commit(t, snap, ch)
	if c := SealedKeyIDs(snap); c["m1"] != 0 {
		t.Fatalf("still sealed under m1: %v", c)
	}
	reg, err := DecodeAll(snap, onlyNew)
	if err != nil {
		t.Fatal(err)
	}
	if got := string(reg.Apps[playApp].PlayIntegrity.Previous.VerificationKey.Reveal()); got != needles[3] {
		t.Fatal("previous verification key lost in the reseal")
	}
}
