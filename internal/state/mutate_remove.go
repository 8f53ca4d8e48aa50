package state

import (
	"fmt"
	"slices"

	"github.com/attestd/attestd/internal/model"
	"github.com/attestd/attestd/store"
)

// Removal describes what a RemoveAccount or RemoveApp mutation removes (or,
// run on a snapshot without committing, would remove). Names only, never
// secret values.
type Removal struct {
	Account string `json:"account"`
	// AccountRemoved is true when the account record itself goes.
	AccountRemoved bool `json:"account_removed"`
	// Apps are the apps removed.
	Apps []string `json:"apps"`
	// Secrets are the account's runtime secrets that go (account removal),
	// or that stop being released to the removed app (app removal).
	Secrets []string `json:"secrets"`
	// APIs are the proxied APIs that go with the account.
	APIs []string `json:"apis"`
	// Keys are the kids of the token keys that go with the account.
	Keys []string `json:"keys"`
	// DebugTokens are the debug tokens of the removed apps, as APP/NAME
	// (PROTOCOL.md §11): they go too, so that an app registered again
	// under the same id does not inherit them.
	DebugTokens []string `json:"debug_tokens,omitempty"`
}

// RemoveApp removes app of account and every reference to it: the app
// record and its debug tokens go, and the account's secrets stop listing
// it, in one change.
// Bans are per device and stay; receipts already issued for the app stop
// counting because the app is unknown (PROTOCOL.md §2, §7). It fails with
// ErrNotFound when the account or the app does not exist, or the app
// belongs to another account. out, when not nil, receives what goes.
func RemoveApp(seal Sealer, account, app string, out *Removal) Mutation {
	return func(snap *store.Snapshot) (store.Changes, error) {
		reg, err := DecodeAll(snap, seal)
		if err != nil {
			return store.Changes{}, err
		}
		acc := reg.Accounts[account]
		if acc == nil {
			return store.Changes{}, fmt.Errorf("%w: account %q", ErrNotFound, account)
		}
		a := reg.Apps[app]
		if a == nil || a.Account != account {
			return store.Changes{}, fmt.Errorf("%w: app %q of account %q", ErrNotFound, app, account)
		}
		rm := Removal{Account: account, Apps: []string{app}, Secrets: []string{}, APIs: []string{}, Keys: []string{}}
		for i := range acc.Secrets {
			s := &acc.Secrets[i]
			if j := slices.Index(s.Apps, app); j >= 0 {
				s.Apps = slices.Delete(slices.Clone(s.Apps), j, j+1)
				rm.Secrets = append(rm.Secrets, s.Name)
			}
		}
		delete(reg.Apps, app)
		if err := reg.validateAccount(account); err != nil {
			return store.Changes{}, err
		}
		ch := store.Changes{Delete: []string{AppKey(app)}}
		dk, dn := debugTokensOfApps(reg, []string{app})
		ch.Delete, rm.DebugTokens = append(ch.Delete, dk...), dn
		if len(rm.Secrets) > 0 {
			k, v, err := EncodeAccount(acc, seal)
			if err != nil {
				return store.Changes{}, err
			}
			ch.Put = map[string][]byte{k: v}
		}
		if out != nil {
			*out = rm
		}
		return ch, nil
	}
}

// RemoveAccount removes account and everything under it in one change: its
// record (token keys, runtime secrets, pins and proxied APIs are part of
// it), every app of the account and their debug tokens. Bans are per device and stay. It fails
// with ErrNotFound when the account does not exist. out, when not nil,
// receives what goes.
func RemoveAccount(seal Sealer, account string, out *Removal) Mutation {
	return func(snap *store.Snapshot) (store.Changes, error) {
		reg, err := DecodeAll(snap, seal)
		if err != nil {
			return store.Changes{}, err
		}
		acc := reg.Accounts[account]
		if acc == nil {
			return store.Changes{}, fmt.Errorf("%w: account %q", ErrNotFound, account)
		}
		rm := Removal{Account: account, AccountRemoved: true, Apps: []string{}, Secrets: []string{}, APIs: []string{}, Keys: []string{}}
		for _, s := range acc.Secrets {
			rm.Secrets = append(rm.Secrets, s.Name)
		}
		for _, api := range acc.APIs {
			rm.APIs = append(rm.APIs, api.Name)
		}
		for _, k := range acc.Keys {
			rm.Keys = append(rm.Keys, k.KID)
		}
		ch := store.Changes{Delete: []string{AccountKey(account)}}
		for _, id := range sortedIDs(reg.Apps) {
			if reg.Apps[id].Account == account {
				rm.Apps = append(rm.Apps, id)
				ch.Delete = append(ch.Delete, AppKey(id))
				delete(reg.Apps, id)
			}
		}
		dk, dn := debugTokensOfApps(reg, rm.Apps)
		ch.Delete, rm.DebugTokens = append(ch.Delete, dk...), dn
		delete(reg.Accounts, account)
		if err := model.ValidateState(reg.Accounts, reg.Apps); err != nil {
			return store.Changes{}, err
		}
		if out != nil {
			*out = rm
		}
		return ch, nil
	}
}
