package registry_test

import (
	"context"
	"testing"
	"time"

	"github.com/attestd/attestd/internal/model"
	"github.com/attestd/attestd/internal/registry"
	"github.com/attestd/attestd/internal/testenv"
	"github.com/attestd/attestd/store/open"
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
	s := testenv.NewStore(t, f)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	st, seal, err := open.Open(ctx, s.URL, open.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	snap, err := st.Load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	r, err := registry.New(registry.Config{Sealer: seal})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.Close)
	if err := r.Swap(snap); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]bool{"signed": true, "plain": false} {
		api, _, ok, err := r.API(name)
		if err != nil || !ok || api.RequireSignature != want {
			t.Fatalf("API %q: %+v %v %v", name, api, ok, err)
		}
	}
}
