package registry

import (
	"encoding/json"
	"fmt"
	"strings"
	"sync"

	"github.com/attestd/attestd/internal/state"
)

// apiIndex maps API names to their account ids; built once per snapshot,
// on first use, from the accounts' API names alone (no secret is opened).
type apiIndex struct {
	once  sync.Once
	owner map[string]string
	err   error
}

func (v *view) apiOwners() (map[string]string, error) {
	v.apis.once.Do(func() {
		v.apis.owner = map[string]string{}
		for _, k := range v.snap.Keys(state.AccountsPrefix) {
			e, _ := v.snap.Get(k)
			var names struct {
				APIs []struct {
					Name string `json:"name"`
				} `json:"apis"`
			}
			if err := json.Unmarshal(e.Value, &names); err != nil {
				v.apis.err = fmt.Errorf("registry: %s: %w", k, err)
				return
			}
			for _, a := range names.APIs {
				v.apis.owner[a.Name] = strings.TrimPrefix(k, state.AccountsPrefix)
			}
		}
	})
	return v.apis.owner, v.apis.err
}

// API returns the proxied API name (PROTOCOL.md §6) and its account, or
// false when no account has it. API names are unique in a deployment.
func (r *Registry) API(name string) (*API, *Account, bool, error) {
	v, err := r.current()
	if err != nil {
		return nil, nil, false, err
	}
	owners, err := v.apiOwners()
	if err != nil {
		return nil, nil, false, err
	}
	id, ok := owners[name]
	if !ok {
		return nil, nil, false, nil
	}
	acct, ok, err := r.Account(id)
	if err != nil || !ok {
		return nil, nil, false, err
	}
	api, ok := acct.APIs[name]
	if !ok {
		return nil, nil, false, nil
	}
	return api, acct, true, nil
}
