package registry

import (
	"fmt"

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
