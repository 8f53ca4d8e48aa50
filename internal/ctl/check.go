package ctl

import (
	"fmt"
	"slices"
	"strings"

	"github.com/attestd/attestd/internal/state"
	"github.com/attestd/attestd/store"
)

// checked is m preceded by check on the registry decoded from the same
// snapshot: a refusal worded for the command the user ran, before the
// mutation's own validation (which stays, and words the same fault for a
// bundle).
func checked(seal state.Sealer, check func(*state.Registry) error, m state.Mutation) state.Mutation {
	return func(snap *store.Snapshot) (store.Changes, error) {
		reg, err := state.DecodeAll(snap, seal)
		if err != nil {
			return store.Changes{}, err
		}
		if err := check(reg); err != nil {
			return store.Changes{}, err
		}
		return m(snap)
	}
}

// checkSecretApps refuses to release a secret of account to an app that is
// not one of its apps.
func (r *runner) checkSecretApps(reg *state.Registry, account string, apps []string) error {
	if reg.Accounts[account] == nil {
		return fmt.Errorf("%w: account %q", state.ErrNotFound, account)
	}
	var mine []string
	for _, id := range sortedKeys(reg.Apps) {
		if reg.Apps[id].Account == account {
			mine = append(mine, id)
		}
	}
	for _, app := range apps {
		if slices.Contains(mine, app) {
			continue
		}
		if a := reg.Apps[app]; a != nil {
			return fmt.Errorf("%w: --apps: app %q belongs to account %q, not %q", state.ErrRefused, app, a.Account, account)
		}
		return fmt.Errorf("%w: --apps: account %q has no app %q (its apps: %s); register it first (%s)",
			state.ErrRefused, account, app, orNone(mine), r.plainHint("help", "app", "add"))
	}
	return nil
}

// checkSecretUnused refuses to delete a secret a proxied API injects.
func (r *runner) checkSecretUnused(reg *state.Registry, account, name string) error {
	a := reg.Accounts[account]
	if a == nil {
		return fmt.Errorf("%w: account %q", state.ErrNotFound, account)
	}
	for _, api := range a.APIs {
		if api.Inject.Secret == name {
			return fmt.Errorf("%w: secret %q is injected by proxied API %q of account %q: remove the API first (%s), or point it at another secret with 'api put'",
				state.ErrRefused, name, api.Name, account, r.ctlHint("api", "remove", account, api.Name))
		}
	}
	return nil
}

func orNone(ids []string) string {
	if len(ids) == 0 {
		return "none"
	}
	return strings.Join(ids, ", ")
}
