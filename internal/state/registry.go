package state

import (
	"fmt"

	"github.com/attestd/attestd/internal/model"
	"github.com/attestd/attestd/store"
)

// Registry is the whole decoded state of a snapshot. Secret fields hold the
// opened values (secret.Value never prints).
type Registry struct {
	Revision int64
	Accounts map[string]*model.Account
	Apps     map[string]*model.App
	// Bans is nil when the store holds no ban list.
	Bans *model.Bans
	// Deployment is nil when the deployment keys were not created yet.
	Deployment *Deployment
	// DebugTokens are the stored debug tokens by store key (never the
	// tokens, PROTOCOL.md §11).
	DebugTokens map[string]*DebugToken
}

// DecodeAll decodes every record of snap. A record that does not decode or
// open is an error (ErrCorrupt): writers must not build on a state they
// cannot read, and a wrong master key shows at once.
func DecodeAll(snap *store.Snapshot, seal Sealer) (*Registry, error) {
	r := &Registry{
		Accounts: map[string]*model.Account{},
		Apps:     map[string]*model.App{},
	}
	if snap == nil {
		r.DebugTokens = map[string]*DebugToken{}
		return r, nil
	}
	r.Revision = snap.Revision
	for _, k := range snap.Keys(AccountsPrefix) {
		e, _ := snap.Get(k)
		a, err := DecodeAccount(k, e.Value, seal)
		if err != nil {
			return nil, err
		}
		r.Accounts[a.ID] = a
	}
	for _, k := range snap.Keys(AppsPrefix) {
		e, _ := snap.Get(k)
		a, err := DecodeApp(k, e.Value, seal)
		if err != nil {
			return nil, err
		}
		r.Apps[a.ID] = a
	}
	if e, ok := snap.Get(BansKey); ok {
		b, err := DecodeBans(e.Value)
		if err != nil {
			return nil, err
		}
		r.Bans = b
	}
	if e, ok := snap.Get(DeploymentKey); ok {
		d, err := DecodeDeployment(e.Value, seal)
		if err != nil {
			return nil, err
		}
		r.Deployment = d
	}
	var err error
	if r.DebugTokens, err = DebugTokens(snap); err != nil {
		return nil, err
	}
	return r, nil
}

// validateAccountInState validates one edited account and the state's
// cross-references.
func (r *Registry) validateAccount(id string) error {
	a := r.Accounts[id]
	if err := a.Validate(fmt.Sprintf("accounts[%q]", id)); err != nil {
		return err
	}
	return model.ValidateState(r.Accounts, r.Apps)
}
