package state

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/attestd/attestd/crypto/debugtoken"
	"github.com/attestd/attestd/internal/model"
	"github.com/attestd/attestd/store"
)

var dtNow = time.Unix(1_900_000_000, 0)

func newDebugToken(t *testing.T) string {
	t.Helper()
	tok, err := debugtoken.New(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func addReq(t *testing.T, name string) DebugTokenRequest {
	return DebugTokenRequest{Account: "acme", App: "com.example.shop", Name: name, Token: newDebugToken(t), Now: dtNow}
}

// debugMAC is the MAC a node computes for tok with the snapshot's key.
func debugMAC(t *testing.T, snap *store.Snapshot, seal Sealer, tok string) string {
	t.Helper()
	e, _ := snap.Get(DeploymentKey)
	d, err := DecodeDeployment(e.Value, seal)
	if err != nil {
		t.Fatal(err)
	}
	mac, err := debugtoken.MAC(d.DebugToken.Reveal(), []byte(tok))
	if err != nil {
		t.Fatal(err)
	}
	return DebugTokenKey(mac)
}

// TestDebugTokenStoredAsMACOnly: the store holds the token's MAC under the
// deployment key and what it is for, never the token itself.
func TestDebugTokenStoredAsMACOnly(t *testing.T) {
	seal := newTestSealer(t)
	snap := seeded(t, seal)
	req := addReq(t, "ci-runner")
	req.TTL, req.Secrets = 48*time.Hour, true
	var rec DebugToken
	snap = run(t, snap, AddDebugToken(seal, rand.Reader, req, &rec))
	key := debugMAC(t, snap, seal, req.Token)
	e, ok := snap.Get(key)
	if !ok {
		t.Fatalf("no record at the token's MAC %s", key)
	}
	want := DebugToken{Name: "ci-runner", Account: "acme", App: "com.example.shop", CreatedAt: dtNow.Unix(),
		ExpiresAt: dtNow.Add(48 * time.Hour).Unix(), Secrets: true}
	got, err := DecodeDebugToken(key, e.Value)
	if err != nil || *got != want || rec != want {
		t.Fatalf("record %+v (%v), out %+v; want %+v", got, err, rec, want)
	}
	for k, e := range snap.Entries {
		if strings.Contains(k, req.Token) || strings.Contains(string(e.Value), req.Token) ||
			strings.Contains(string(e.Value), req.Token[len(debugtoken.Prefix):]) {
			t.Fatalf("the token itself is stored at %s", k)
		}
	}
}

func TestDebugTokenDefaultsAndBounds(t *testing.T) {
	seal := newTestSealer(t)
	snap := seeded(t, seal)
	var rec DebugToken
	snap = run(t, snap, AddDebugToken(seal, rand.Reader, addReq(t, "default-ttl"), &rec))
	if rec.ExpiresAt-rec.CreatedAt != int64(DefaultDebugTokenTTL/time.Second) || rec.Secrets {
		t.Fatalf("defaults: %+v", rec)
	}
	for _, tc := range []struct {
		name string
		edit func(*DebugTokenRequest)
		want error
	}{
		{"ttl-too-long", func(r *DebugTokenRequest) { r.TTL = MaxDebugTokenTTL + time.Second }, model.ErrInvalid},
		{"ttl-too-short", func(r *DebugTokenRequest) { r.TTL = time.Second }, model.ErrInvalid},
		{"ttl-negative", func(r *DebugTokenRequest) { r.TTL = -time.Hour }, model.ErrInvalid},
		{"name-empty", func(r *DebugTokenRequest) { r.Name = "" }, model.ErrInvalid},
		{"name-space", func(r *DebugTokenRequest) { r.Name = "my runner" }, model.ErrInvalid},
		{"name-quote", func(r *DebugTokenRequest) { r.Name = `a"b` }, model.ErrInvalid},
		{"name-newline", func(r *DebugTokenRequest) { r.Name = "a\nlevel=error" }, model.ErrInvalid},
		{"name-too-long", func(r *DebugTokenRequest) { r.Name = strings.Repeat("a", MaxDebugTokenNameLen+1) }, model.ErrInvalid},
		{"not-a-token", func(r *DebugTokenRequest) { r.Token = "adt_short" }, model.ErrInvalid},
		{"unknown-account", func(r *DebugTokenRequest) { r.Account = "nobody" }, ErrNotFound},
		{"unknown-app", func(r *DebugTokenRequest) { r.App = "com.example.none" }, ErrNotFound},
		{"app-of-another-account", func(r *DebugTokenRequest) { r.Account = "other" }, ErrNotFound},
		{"name-taken", func(r *DebugTokenRequest) { r.Name = "default-ttl" }, ErrRefused},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := addReq(t, "x")
			tc.edit(&req)
			if _, err := AddDebugToken(seal, rand.Reader, req, nil)(snap); !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
		})
	}
}

// TestDebugTokensPerAppBounded: an app has at most MaxDebugTokensPerApp
// live tokens; expired ones are removed by the next add and do not count.
func TestDebugTokensPerAppBounded(t *testing.T) {
	seal := newTestSealer(t)
	snap := seeded(t, seal)
	short := addReq(t, "short-lived")
	short.TTL = time.Hour
	snap = run(t, snap, AddDebugToken(seal, rand.Reader, short, nil))
	for i := 1; i < MaxDebugTokensPerApp; i++ {
		snap = run(t, snap, AddDebugToken(seal, rand.Reader, addReq(t, fmt.Sprintf("t%d", i)), nil))
	}
	if _, err := AddDebugToken(seal, rand.Reader, addReq(t, "one-too-many"), nil)(snap); !errors.Is(err, ErrRefused) {
		t.Fatalf("token %d: %v", MaxDebugTokensPerApp+1, err)
	}
	later := addReq(t, "short-lived") // the name of the expired one is free again
	later.Now = dtNow.Add(time.Hour)
	ch, err := AddDebugToken(seal, rand.Reader, later, nil)(snap)
	if err != nil {
		t.Fatal(err)
	}
	if len(ch.Delete) != 1 || ch.Delete[0] != debugMAC(t, snap, seal, short.Token) {
		t.Fatalf("the expired token was not removed: delete %v", ch.Delete)
	}
	snap = commit(t, snap, ch)
	all, err := DebugTokens(snap)
	if err != nil || len(all) != MaxDebugTokensPerApp {
		t.Fatalf("%d tokens (%v)", len(all), err)
	}
}

func TestRevokeDebugToken(t *testing.T) {
	seal := newTestSealer(t)
	snap := seeded(t, seal)
	a, b := addReq(t, "a"), addReq(t, "b")
	snap = run(t, snap, AddDebugToken(seal, rand.Reader, a, nil))
	snap = run(t, snap, AddDebugToken(seal, rand.Reader, b, nil))
	for _, bad := range [][3]string{{"other", "com.example.shop", "a"}, {"acme", "com.example.other", "a"}, {"acme", "com.example.shop", "c"}} {
		if _, err := RevokeDebugToken(bad[0], bad[1], bad[2])(snap); !errors.Is(err, ErrNotFound) {
			t.Fatalf("revoke %v: %v", bad, err)
		}
	}
	snap = run(t, snap, RevokeDebugToken("acme", "com.example.shop", "a"))
	if _, ok := snap.Get(debugMAC(t, snap, seal, a.Token)); ok {
		t.Fatal("revoked token still stored")
	}
	if _, ok := snap.Get(debugMAC(t, snap, seal, b.Token)); !ok {
		t.Fatal("revoke removed another token")
	}
}

// TestRemovedAppTakesItsDebugTokens: an app registered again under the
// same id (or under another account) does not inherit the debug tokens of
// the app that was removed.
func TestRemovedAppTakesItsDebugTokens(t *testing.T) {
	seal := newTestSealer(t)
	snap := lifecycleSnap(t, seal)
	shop := addReq(t, "shop")
	second := addReq(t, "second")
	second.App = "com.example.second"
	snap = run(t, snap, AddDebugToken(seal, rand.Reader, shop, nil))
	snap = run(t, snap, AddDebugToken(seal, rand.Reader, second, nil))
	var rm Removal
	after := run(t, snap, RemoveApp(seal, "acme", "com.example.shop", &rm))
	if !slices.Equal(rm.DebugTokens, []string{"com.example.shop/shop"}) {
		t.Fatalf("removal lists %v", rm.DebugTokens)
	}
	if _, ok := after.Get(debugMAC(t, after, seal, shop.Token)); ok {
		t.Fatal("the removed app's debug token stayed")
	}
	if _, ok := after.Get(debugMAC(t, after, seal, second.Token)); !ok {
		t.Fatal("another app's debug token went")
	}
	after = run(t, snap, RemoveAccount(seal, "acme", &rm))
	if len(rm.DebugTokens) != 2 {
		t.Fatalf("account removal lists %v", rm.DebugTokens)
	}
	if all, _ := DebugTokens(after); len(all) != 0 {
		t.Fatalf("%d debug tokens left after the account went", len(all))
	}
}

// TestOldStoreGetsDebugKeyOnNextWrite: a deployment record written before
// debug tokens existed still decodes (no key: no debug token verifies),
// and the first debug-token add, like any import or init, creates the key
// while keeping every other key.
func TestOldStoreGetsDebugKeyOnNextWrite(t *testing.T) {
	seal := newTestSealer(t)
	snap := seeded(t, seal)
	e, _ := snap.Get(DeploymentKey)
	raw := map[string]json.RawMessage{}
	if err := json.Unmarshal(e.Value, &raw); err != nil {
		t.Fatal(err)
	}
	delete(raw, fieldDebugToken)
	old, _ := json.Marshal(raw)
	snap = commit(t, snap, store.Changes{Put: map[string][]byte{DeploymentKey: old}})
	before, err := DecodeDeployment(old, seal)
	if err != nil || !before.DebugToken.IsZero() {
		t.Fatalf("old record: %v, key present %v", err, !before.DebugToken.IsZero())
	}
	for name, m := range map[string]Mutation{
		"init":   EnsureDeployment(seal, rand.Reader),
		"add":    AddDebugToken(seal, rand.Reader, addReq(t, "first"), nil),
		"import": func(s *store.Snapshot) (store.Changes, error) { return Apply(s, acmeBundle(t), seal, rand.Reader) },
	} {
		t.Run(name, func(t *testing.T) {
			next := run(t, snap, m)
			e, _ := next.Get(DeploymentKey)
			d, err := DecodeDeployment(e.Value, seal)
			if err != nil || d.DebugToken.Len() != debugtoken.KeyBytes {
				t.Fatalf("after %s: %v, key %d bytes", name, err, d.DebugToken.Len())
			}
			if !d.Nonce.ActiveKey().Equal(before.Nonce.ActiveKey()) || !d.QUICToken.Equal(before.QUICToken) {
				t.Fatal("other deployment keys changed")
			}
		})
	}
}

// TestResealKeepsDebugKey: the debug token MAC key is re-sealed with the
// others, so tokens stay valid across a master key rotation.
func TestResealKeepsDebugKey(t *testing.T) {
	seal := newTestSealer(t)
	snap := seeded(t, seal)
	e, _ := snap.Get(DeploymentKey)
	v, err := resealDeployment(e.Value, seal)
	if err != nil {
		t.Fatal(err)
	}
	before, _ := DecodeDeployment(e.Value, seal)
	after, err := DecodeDeployment(v, seal)
	if err != nil || !after.DebugToken.Equal(before.DebugToken) || before.DebugToken.IsZero() {
		t.Fatalf("reseal: %v", err)
	}
}

func TestSetEnforcement(t *testing.T) {
	seal := newTestSealer(t)
	snap := seeded(t, seal)
	policy := func(s *store.Snapshot) model.Policy {
		t.Helper()
		e, _ := s.Get(AppKey("com.example.shop"))
		a, err := DecodeApp(AppKey("com.example.shop"), e.Value, seal)
		if err != nil {
			t.Fatal(err)
		}
		return a.Policy
	}
	orig := policy(snap)
	var changed bool
	snap = run(t, snap, SetEnforcement(seal, "com.example.shop", model.EnforcementMonitor, &changed))
	if p := policy(snap); !changed || !p.Monitor() || p.Enforcement != model.EnforcementMonitor {
		t.Fatalf("after monitor: changed %v, %+v", changed, p)
	}
	if ch, err := SetEnforcement(seal, "com.example.shop", model.EnforcementMonitor, &changed)(snap); err != nil || !ch.Empty() || changed {
		t.Fatalf("monitor again: %v %v %v", ch, err, changed)
	}
	snap = run(t, snap, SetEnforcement(seal, "com.example.shop", model.EnforcementEnforce, &changed))
	if p := policy(snap); !changed || !reflect.DeepEqual(p, orig) {
		t.Fatalf("after enforce: %+v, want %+v", p, orig)
	}
	if _, err := SetEnforcement(seal, "com.example.shop", "audit", nil)(snap); !errors.Is(err, model.ErrInvalid) {
		t.Fatalf("bad mode: %v", err)
	}
	if _, err := SetEnforcement(seal, "com.example.none", model.EnforcementMonitor, nil)(snap); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown app: %v", err)
	}
}
