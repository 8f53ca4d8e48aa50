package state

import (
	"errors"
	"reflect"
	"testing"

	"github.com/attestd/attestd/internal/model"
)

// TestPutAPIDoesNotDropUnstatedSecuritySettings: a put that replaces an
// API whole and does not state require_binding or require_signature must
// not turn off the one the stored API has on (a stolen token would pass
// again); stated, either may be kept or turned off.
func TestPutAPIDoesNotDropUnstatedSecuritySettings(t *testing.T) {
	seal := newTestSealer(t)
	snap := seeded(t, seal)
	api := model.API{Name: "guarded", Upstream: "https://g.example.org", RequireBinding: true, RequireSignature: true,
		Inject: model.Inject{Header: "X-K", Secret: "maps_api_key"}}
	snap = run(t, snap, PutAPI(seal, "acme", api, APIStated{}))
	plain := api
	plain.RequireBinding, plain.RequireSignature = false, false
	for name, c := range map[string]struct {
		stated APIStated
		want   []string
	}{
		"none stated":           {APIStated{}, []string{"require_binding", "require_signature"}},
		"binding stated only":   {APIStated{RequireBinding: true}, []string{"require_signature"}},
		"signature stated only": {APIStated{RequireSignature: true}, []string{"require_binding"}},
	} {
		_, err := PutAPI(seal, "acme", plain, c.stated)(snap)
		var ue *UnstatedError
		if !errors.Is(err, ErrRefused) || !errors.As(err, &ue) || !reflect.DeepEqual(ue.Settings, c.want) {
			t.Errorf("%s: %v, want a refusal naming %v", name, err, c.want)
		}
	}
	// Kept without being stated: nothing is dropped.
	snap = run(t, snap, PutAPI(seal, "acme", api, APIStated{}))
	// Stated: turned off.
	snap = run(t, snap, PutAPI(seal, "acme", plain, APIStated{RequireBinding: true, RequireSignature: true}))
	reg, err := DecodeAll(snap, seal)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range reg.Accounts["acme"].APIs {
		if a.Name == "guarded" && (a.RequireBinding || a.RequireSignature) {
			t.Fatalf("stated off, still on: %+v", a)
		}
	}
}
