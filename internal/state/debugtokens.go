package state

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/attestd/attestd/crypto/debugtoken"
	"github.com/attestd/attestd/internal/model"
	"github.com/attestd/attestd/store"
)

// DebugTokensPrefix holds one record per debug token (PROTOCOL.md §11),
// under the hex of the token's MAC: debug_tokens/<hex MAC>. The token
// itself is never stored.
const DebugTokensPrefix = "debug_tokens/"

// Bounds of debug tokens.
const (
	// DefaultDebugTokenTTL is a debug token's lifetime when none is given.
	DefaultDebugTokenTTL = 30 * 24 * time.Hour
	// MaxDebugTokenTTL is the longest lifetime a debug token may have.
	MaxDebugTokenTTL = 90 * 24 * time.Hour
	// MinDebugTokenTTL is the shortest.
	MinDebugTokenTTL = time.Minute
	// MaxDebugTokensPerApp bounds the live (unexpired) debug tokens of one
	// app.
	MaxDebugTokensPerApp = 20
	// MaxDebugTokenNameLen bounds a debug token's name.
	MaxDebugTokenNameLen = 64
)

// DebugToken is a stored debug token: what it is for, never the token.
type DebugToken struct {
	// Name is unique among the app's tokens; tokens carry it as dbg.
	Name    string `json:"name"`
	Account string `json:"account"`
	App     string `json:"app"`
	// CreatedAt and ExpiresAt are Unix seconds; the token is live while
	// now < ExpiresAt.
	CreatedAt int64 `json:"created_at"`
	ExpiresAt int64 `json:"expires_at"`
	// Secrets: verdicts made with the token may release the app's runtime
	// secrets (attestctl debug-token add --secrets).
	Secrets bool `json:"secrets,omitempty"`
}

// DebugTokenKey is the store key of the debug token whose MAC is mac.
func DebugTokenKey(mac [debugtoken.MACSize]byte) string {
	return DebugTokensPrefix + hex.EncodeToString(mac[:])
}

// DecodeDebugToken decodes the stored debug token at key.
func DecodeDebugToken(key string, value []byte) (*DebugToken, error) {
	id, err := idFromKey(key, DebugTokensPrefix)
	if err != nil {
		return nil, err
	}
	if len(id) != 2*debugtoken.MACSize {
		return nil, fmt.Errorf("%w: %s: not a debug token MAC", ErrCorrupt, key)
	}
	var t DebugToken
	if err := decodeRecord(value, &t); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrCorrupt, key, err)
	}
	if t.Name == "" || t.App == "" || t.Account == "" {
		return nil, fmt.Errorf("%w: %s: name, app or account missing", ErrCorrupt, key)
	}
	return &t, nil
}

// DebugTokenRequest is what AddDebugToken records.
type DebugTokenRequest struct {
	Account, App, Name string
	// Token is the new token (debugtoken.New); only its MAC is stored.
	Token string
	// TTL: 0 means DefaultDebugTokenTTL.
	TTL     time.Duration
	Secrets bool
	Now     time.Time
}

// ValidateDebugTokenName checks a debug token's name: 1 to
// MaxDebugTokenNameLen letters, digits and "._-@+:".
func ValidateDebugTokenName(name string) error {
	if name == "" || len(name) > MaxDebugTokenNameLen {
		return fmt.Errorf("%w: debug token name: 1 to %d characters", model.ErrInvalid, MaxDebugTokenNameLen)
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-' || c == '@' || c == '+' || c == ':') {
			return fmt.Errorf("%w: debug token name: only letters, digits and ._-@+:", model.ErrInvalid)
		}
	}
	return nil
}

// DebugTokenTTL checks a requested lifetime and applies the default.
func DebugTokenTTL(ttl time.Duration) (time.Duration, error) {
	if ttl == 0 {
		return DefaultDebugTokenTTL, nil
	}
	if ttl < MinDebugTokenTTL || ttl > MaxDebugTokenTTL {
		return 0, fmt.Errorf("%w: debug token TTL %v: must be %v to %v", model.ErrInvalid, ttl, MinDebugTokenTTL, MaxDebugTokenTTL)
	}
	return ttl, nil
}

// AddDebugToken records the MAC of req.Token as a debug token of req.App
// (which must be an app of req.Account), in one change that also removes
// the app's expired tokens and creates the deployment's MAC key when the
// store has none yet. It fails when the name is taken by a live token of
// the app, or the app has MaxDebugTokensPerApp live tokens. *out, when out
// is not nil, receives the record.
func AddDebugToken(seal Sealer, rnd io.Reader, req DebugTokenRequest, out *DebugToken) Mutation {
	return func(snap *store.Snapshot) (store.Changes, error) {
		if err := ValidateDebugTokenName(req.Name); err != nil {
			return store.Changes{}, err
		}
		ttl, err := DebugTokenTTL(req.TTL)
		if err != nil {
			return store.Changes{}, err
		}
		if !debugtoken.WellFormed([]byte(req.Token)) {
			return store.Changes{}, fmt.Errorf("%w: not a debug token", model.ErrInvalid)
		}
		reg, err := DecodeAll(snap, seal)
		if err != nil {
			return store.Changes{}, err
		}
		if err := appOf(reg, req.Account, req.App); err != nil {
			return store.Changes{}, err
		}
		ch := store.Changes{Put: map[string][]byte{}}
		live := pruneDebugTokens(&ch, reg, req.App, req.Now)
		if slices.Contains(live, req.Name) {
			return store.Changes{}, fmt.Errorf("%w: app %q already has a debug token named %q (revoke it first)", ErrRefused, req.App, req.Name)
		}
		if len(live) >= MaxDebugTokensPerApp {
			return store.Changes{}, fmt.Errorf("%w: app %q has %d live debug tokens, the most it may have", ErrRefused, req.App, len(live))
		}
		key, err := debugKey(&ch, snap, seal, rnd)
		if err != nil {
			return store.Changes{}, err
		}
		mac, err := debugtoken.MAC(key, []byte(req.Token))
		if err != nil {
			return store.Changes{}, err
		}
		k := DebugTokenKey(mac)
		if _, taken := snap.Get(k); taken {
			return store.Changes{}, fmt.Errorf("%w: this token is already recorded", ErrRefused)
		}
		t := DebugToken{Name: req.Name, Account: req.Account, App: req.App, CreatedAt: req.Now.Unix(),
			ExpiresAt: req.Now.Add(ttl).Unix(), Secrets: req.Secrets}
		if ch.Put[k], err = json.Marshal(&t); err != nil {
			return store.Changes{}, fmt.Errorf("state: encode %s: %w", k, err)
		}
		if out != nil {
			*out = t
		}
		return ch, nil
	}
}

// RevokeDebugToken removes the debug token name of app (of account). It
// fails with ErrNotFound when there is none.
func RevokeDebugToken(account, app, name string) Mutation {
	return func(snap *store.Snapshot) (store.Changes, error) {
		var del []string
		for _, k := range snap.Keys(DebugTokensPrefix) {
			e, _ := snap.Get(k)
			t, err := DecodeDebugToken(k, e.Value)
			if err != nil {
				return store.Changes{}, err
			}
			if t.Account == account && t.App == app && t.Name == name {
				del = append(del, k)
			}
		}
		if len(del) == 0 {
			return store.Changes{}, fmt.Errorf("%w: debug token %q of app %q of account %q", ErrNotFound, name, app, account)
		}
		return store.Changes{Delete: del}, nil
	}
}

// DebugTokens decodes every debug token of snap, by store key.
func DebugTokens(snap *store.Snapshot) (map[string]*DebugToken, error) {
	out := map[string]*DebugToken{}
	for _, k := range snap.Keys(DebugTokensPrefix) {
		e, _ := snap.Get(k)
		t, err := DecodeDebugToken(k, e.Value)
		if err != nil {
			return nil, err
		}
		out[k] = t
	}
	return out, nil
}

// appOf checks that app exists and belongs to account.
func appOf(reg *Registry, account, app string) error {
	if reg.Accounts[account] == nil {
		return fmt.Errorf("%w: account %q", ErrNotFound, account)
	}
	if a := reg.Apps[app]; a == nil || a.Account != account {
		return fmt.Errorf("%w: app %q of account %q", ErrNotFound, app, account)
	}
	return nil
}

// pruneDebugTokens adds to ch the deletion of app's expired tokens and
// returns the names of its live ones.
func pruneDebugTokens(ch *store.Changes, reg *Registry, app string, now time.Time) []string {
	var live []string
	for _, k := range sortedIDs(reg.DebugTokens) {
		t := reg.DebugTokens[k]
		if t.App != app {
			continue
		}
		if now.Unix() >= t.ExpiresAt {
			ch.Delete = append(ch.Delete, k)
			continue
		}
		live = append(live, t.Name)
	}
	return live
}

// debugKey returns the deployment's debug token MAC key, adding the
// deployment record to ch when the key (or any other) had to be created.
func debugKey(ch *store.Changes, snap *store.Snapshot, seal Sealer, rnd io.Reader) ([]byte, error) {
	v, changed, err := ensureDeployment(snap, seal, rnd)
	if err != nil {
		return nil, err
	}
	if changed {
		ch.Put[DeploymentKey] = v
	} else {
		e, _ := snap.Get(DeploymentKey)
		v = e.Value
	}
	raw, err := deploymentMembers(v)
	if err != nil {
		return nil, err
	}
	k, err := decodeSingle(fieldDebugToken, raw[fieldDebugToken], seal)
	if err != nil {
		return nil, err
	}
	return k.Reveal(), nil
}

// debugTokensOfApps returns the store keys of the debug tokens of the
// given apps, and their names.
func debugTokensOfApps(reg *Registry, apps []string) (keys, names []string) {
	for _, k := range sortedIDs(reg.DebugTokens) {
		if t := reg.DebugTokens[k]; slices.Contains(apps, t.App) {
			keys = append(keys, k)
			names = append(names, t.App+"/"+t.Name)
		}
	}
	return keys, names
}
