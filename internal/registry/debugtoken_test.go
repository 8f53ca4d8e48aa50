package registry_test

import (
	"crypto/rand"
	"testing"
	"time"

	"github.com/attestd/attestd/crypto/debugtoken"
	"github.com/attestd/attestd/internal/model"
	"github.com/attestd/attestd/internal/registry"
	"github.com/attestd/attestd/internal/state"
	"github.com/attestd/attestd/internal/testenv"
)

// TestDebugTokenLookup: a node finds a debug token by its MAC alone, and
// finds nothing for a token it was never given, one a character off, or
// one of another deployment.
func TestDebugTokenLookup(t *testing.T) {
	f := testenv.NewFixture(t)
	s := testenv.NewStore(t, f)
	tok, _ := debugtoken.New(rand.Reader)
	now := time.Now()
	s.Update(t, func(seal state.Sealer) state.Mutation {
		return state.AddDebugToken(seal, rand.Reader, state.DebugTokenRequest{Account: testenv.Account, App: testenv.App,
			Name: "ci", Token: tok, TTL: time.Hour, Secrets: true, Now: now}, nil)
	})
	s.Update(t, func(seal state.Sealer) state.Mutation {
		return state.SetEnforcement(seal, testenv.AppLenient, model.EnforcementMonitor, nil)
	})
	r := swapped(t, s)
	got, ok, err := r.DebugToken([]byte(tok))
	want := registry.DebugToken{Name: "ci", Account: testenv.Account, App: testenv.App, ExpiresAt: now.Add(time.Hour).Unix(), Secrets: true}
	if err != nil || !ok || got != want {
		t.Fatalf("DebugToken = %+v %v %v, want %+v", got, ok, err, want)
	}
	other, _ := debugtoken.New(rand.Reader)
	off := []byte(tok)
	off[10] ^= 1
	for name, guess := range map[string][]byte{"unknown": []byte(other), "one-bit-off": off, "empty": nil,
		"prefix": []byte(debugtoken.Prefix), "long": make([]byte, 4096)} {
		if _, ok, err := r.DebugToken(guess); ok || err != nil {
			t.Errorf("%s: found %v, %v", name, ok, err)
		}
	}
	// Another deployment (its own debug key) does not know the token.
	if _, ok, _ := swapped(t, testenv.NewStore(t, f)).DebugToken([]byte(tok)); ok {
		t.Error("another deployment found the token")
	}
	// By name, for the proxy: the same record; another app's or an unknown
	// name finds nothing.
	if got, ok, err := r.DebugTokenNamed(testenv.Account, testenv.App, "ci"); err != nil || !ok || got != want {
		t.Fatalf("DebugTokenNamed = %+v %v %v, want %+v", got, ok, err, want)
	}
	for _, q := range [][3]string{{testenv.Account, testenv.AppLenient, "ci"}, {testenv.Account, testenv.App, "cj"}, {"other", testenv.App, "ci"}} {
		if _, ok, err := r.DebugTokenNamed(q[0], q[1], q[2]); ok || err != nil {
			t.Errorf("DebugTokenNamed%q: found %v, %v", q, ok, err)
		}
	}
	for id, monitor := range map[string]bool{testenv.App: false, testenv.AppLenient: true} {
		if a, _, err := r.App([]byte(id)); err != nil || a.Monitor != monitor {
			t.Errorf("app %s: Monitor %v (%v), want %v", id, a.Monitor, err, monitor)
		}
	}
}

func swapped(t *testing.T, s *testenv.Store) *registry.Registry {
	t.Helper()
	r, _ := loadStore(t, s)
	return r
}
