package registry

import (
	"fmt"
	"sync"

	"github.com/attestd/attestd/crypto/debugtoken"
	"github.com/attestd/attestd/internal/state"
)

// DebugToken returns the stored debug token that tok is (PROTOCOL.md §11),
// whether it is live or not, and false when tok is none: not well-formed,
// unknown or revoked, or the store has no debug token key yet. It finds
// the record by tok's MAC under the deployment's debug token key, which it
// computes for every tok, so that the work and the time of a lookup do
// not depend on how close a guess is. An error is the store's (a record
// that does not decode), never tok's.
func (r *Registry) DebugToken(tok []byte) (DebugToken, bool, error) {
	v, err := r.current()
	if err != nil {
		return DebugToken{}, false, err
	}
	key := v.debugKey
	if key == nil {
		key = make([]byte, debugtoken.KeyBytes) // same work; nothing is found
	}
	mac, err := debugtoken.MAC(key, tok)
	if err != nil {
		return DebugToken{}, false, fmt.Errorf("registry: debug token: %w", err)
	}
	if v.debugKey == nil || !debugtoken.WellFormed(tok) {
		return DebugToken{}, false, nil
	}
	k := state.DebugTokenKey(mac)
	e, ok := v.snap.Get(k)
	if !ok {
		return DebugToken{}, false, nil
	}
	t, err := state.DecodeDebugToken(k, e.Value)
	if err != nil {
		return DebugToken{}, false, fmt.Errorf("registry: %w", err)
	}
	return DebugToken{Name: t.Name, Account: t.Account, App: t.App, ExpiresAt: t.ExpiresAt, Secrets: t.Secrets}, true, nil
}

// debugNames indexes a view's debug tokens by account, app and name (the
// dbg claim of the tokens they made); built once per view, on first use.
type debugNames struct {
	once   sync.Once
	byName map[[3]string]DebugToken
	err    error
}

func (v *view) debugByName() (map[[3]string]DebugToken, error) {
	v.debugNames.once.Do(func() {
		v.debugNames.byName = map[[3]string]DebugToken{}
		for _, k := range v.snap.Keys(state.DebugTokensPrefix) {
			e, _ := v.snap.Get(k)
			t, err := state.DecodeDebugToken(k, e.Value)
			if err != nil {
				v.debugNames.err = fmt.Errorf("registry: %w", err)
				return
			}
			v.debugNames.byName[[3]string{t.Account, t.App, t.Name}] = DebugToken{
				Name: t.Name, Account: t.Account, App: t.App, ExpiresAt: t.ExpiresAt, Secrets: t.Secrets}
		}
	})
	return v.debugNames.byName, v.debugNames.err
}

// DebugTokenNamed returns the stored debug token of app (in account) named
// name, live or not, or false when there is none (revoked, or never made).
// The secrets proxy asks it for tokens that carry dbg: such a token may use
// the API's secret only while its debug token is live and was made with
// --secrets. Names are unique among an app's tokens.
func (r *Registry) DebugTokenNamed(account, app, name string) (DebugToken, bool, error) {
	v, err := r.current()
	if err != nil {
		return DebugToken{}, false, err
	}
	byName, err := v.debugByName()
	if err != nil {
		return DebugToken{}, false, err
	}
	t, ok := byName[[3]string{account, app, name}]
	return t, ok, nil
}
