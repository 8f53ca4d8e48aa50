package state

import (
	"fmt"

	"github.com/attestd/attestd/internal/model"
	"github.com/attestd/attestd/store"
)

// SetEnforcement sets app's policy.enforcement to mode (model's
// EnforcementEnforce or EnforcementMonitor, PROTOCOL.md §11) and changes
// nothing else of the app. Setting the mode it already has writes nothing.
// The stored form of "enforce" is the absent member, the default, so that
// an app switched back exports as it was imported. *changed, when not nil,
// tells whether anything was written.
func SetEnforcement(seal Sealer, app, mode string, changed *bool) Mutation {
	return func(snap *store.Snapshot) (store.Changes, error) {
		switch mode {
		case model.EnforcementEnforce, model.EnforcementMonitor:
		default:
			return store.Changes{}, fmt.Errorf("%w: enforcement %q: must be enforce or monitor", model.ErrInvalid, mode)
		}
		key := AppKey(app)
		e, ok := snap.Get(key)
		if !ok {
			return store.Changes{}, fmt.Errorf("%w: app %q", ErrNotFound, app)
		}
		a, err := DecodeApp(key, e.Value, seal)
		if err != nil {
			return store.Changes{}, err
		}
		if changed != nil {
			*changed = a.Policy.Monitor() != (mode == model.EnforcementMonitor)
		}
		if a.Policy.Monitor() == (mode == model.EnforcementMonitor) {
			return store.Changes{}, nil
		}
		a.Policy.Enforcement = ""
		if mode == model.EnforcementMonitor {
			a.Policy.Enforcement = model.EnforcementMonitor
		}
		if err := a.Validate(fmt.Sprintf("apps[%q]", app)); err != nil {
			return store.Changes{}, err
		}
		k, v, err := EncodeApp(a, seal)
		if err != nil {
			return store.Changes{}, err
		}
		return store.Changes{Put: map[string][]byte{k: v}}, nil
	}
}
