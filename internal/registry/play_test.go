package registry_test

import (
	"testing"

	"github.com/attestd/attestd/crypto/secret"
	"github.com/attestd/attestd/internal/model"
	"github.com/attestd/attestd/internal/testenv"
	"github.com/attestd/attestd/verify/playintegrity/playtest"
)

// TestPlayKeysCompiled: an app's sealed Play Integrity keys are opened and
// parsed once, into a set that opens the tokens of either pair.
func TestPlayKeysCompiled(t *testing.T) {
	cur, err := playtest.NewIssuer()
	if err != nil {
		t.Fatal(err)
	}
	prev, err := playtest.NewIssuer()
	if err != nil {
		t.Fatal(err)
	}
	keys := func(i *playtest.Issuer) model.PlayKeys {
		return model.PlayKeys{DecryptionKey: secret.FromString(i.DecryptionKeyB64()), VerificationKey: secret.FromString(i.VerificationKeyB64())}
	}
	f := testenv.NewFixture(t)
	prevKeys := keys(prev)
	f.Bundle.Apps[0].PlayIntegrity = &model.PlayIntegrity{PlayKeys: keys(cur), Previous: &prevKeys}
	r := swapped(t, testenv.NewStore(t, f))
	app, ok, err := r.App([]byte(f.Bundle.Apps[0].ID))
	if err != nil || !ok || app.Play.Len() != 2 {
		t.Fatalf("App = %+v, %v, %v", app, ok, err)
	}
	for _, iss := range []*playtest.Issuer{cur, prev} {
		tok, err := iss.Token([]byte(`{"requestDetails":{}}`))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := app.Play.Open(tok); err != nil {
			t.Errorf("compiled keys do not open a token: %v", err)
		}
	}
	other, ok, err := r.App([]byte(testenv.AppES))
	if err != nil || !ok || other.Play != nil {
		t.Fatalf("app without keys: %+v", other)
	}
}
