package registry_test

import (
	"testing"

	"github.com/attestd/attestd/internal/model"
	"github.com/attestd/attestd/internal/testenv"
)

// TestAPIRequireSignatureCompiled: an API's require_signature (PROTOCOL.md
// §12) reaches the compiled API the proxy reads; an API without it does
// not require signatures.
func TestAPIRequireSignatureCompiled(t *testing.T) {
	f := testenv.NewFixture(t)
	f.Bundle.Accounts[0].APIs = []model.API{
		{Name: "signed", Upstream: "https://up.example/a", RequireSignature: true, Inject: model.Inject{Header: "X-Key", Secret: testenv.SecretName}},
		{Name: "plain", Upstream: "https://up.example/b", Inject: model.Inject{Header: "X-Key", Secret: testenv.SecretName}},
	}
	r := swapped(t, testenv.NewStore(t, f))
	for name, want := range map[string]bool{"signed": true, "plain": false} {
		api, _, ok, err := r.API(name)
		if err != nil || !ok || api.RequireSignature != want {
			t.Fatalf("API %q: %+v %v %v", name, api, ok, err)
		}
	}
}
