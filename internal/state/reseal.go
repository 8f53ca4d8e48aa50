package state

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"

	"github.com/attestd/attestd/crypto/envelope"
	"github.com/attestd/attestd/store"
)

// KeyedSealer is a Sealer that says which master key it seals with;
// crypto/envelope's *Keyring is one.
type KeyedSealer interface {
	Sealer
	ActiveKeyID() string
}

// Reseal re-seals every sealed value of the store under seal's active
// master key, in one change: the sealed fields of every account (token key
// secrets, private keys, runtime secret values), of every app (Play
// Integrity keys) and every key of the deployment record. Each value is opened with seal (which must still hold
// the keys the values name) and sealed again under the same name, so
// nothing else changes. Records already sealed wholly under the active key
// are not rewritten, so running it again after a commit changes nothing.
// A record this attestctl does not know that holds a sealed value is
// refused (ErrRefused): it could not be re-sealed, and retiring the old
// key would make it unreadable. count, when not nil, receives the number
// of sealed values rewritten.
func Reseal(seal KeyedSealer, count *int) Mutation {
	return func(snap *store.Snapshot) (store.Changes, error) {
		active := seal.ActiveKeyID()
		n := 0
		// Every record must decode with seal before anything is rewritten.
		reg, err := DecodeAll(snap, seal)
		if err != nil {
			return store.Changes{}, err
		}
		ch := store.Changes{Put: map[string][]byte{}}
		for _, k := range snap.Keys("") {
			e, _ := snap.Get(k)
			kids := sealedKIDs(e.Value)
			stale := 0
			for kid, c := range kids {
				if kid != active {
					stale += c
				}
			}
			if stale == 0 {
				continue
			}
			id, isAccount := accountID(k)
			app, isApp := appID(k)
			switch {
			case isAccount:
				_, v, err := EncodeAccount(reg.Accounts[id], seal)
				if err != nil {
					return store.Changes{}, err
				}
				ch.Put[k] = v
			case isApp:
				_, v, err := EncodeApp(reg.Apps[app], seal)
				if err != nil {
					return store.Changes{}, err
				}
				ch.Put[k] = v
			case k == DeploymentKey:
				v, err := resealDeployment(e.Value, seal)
				if err != nil {
					return store.Changes{}, err
				}
				ch.Put[k] = v
			default:
				return store.Changes{}, fmt.Errorf("%w: record %q holds %d sealed value(s) this attestctl cannot re-seal; upgrade attestctl", ErrRefused, k, stale)
			}
			n += stale
		}
		if count != nil {
			*count = n
		}
		if len(ch.Put) == 0 {
			return store.Changes{}, nil
		}
		return ch, nil
	}
}

func accountID(key string) (string, bool) {
	id, err := idFromKey(key, AccountsPrefix)
	return id, err == nil
}

func appID(key string) (string, bool) {
	id, err := idFromKey(key, AppsPrefix)
	return id, err == nil
}

// resealDeployment opens and re-seals each key of the deployment record.
// A member holding a sealed value that this version does not know is
// refused.
func resealDeployment(value []byte, seal Sealer) ([]byte, error) {
	raw, err := deploymentMembers(value)
	if err != nil {
		return nil, err
	}
	sets := keySets()
	for _, name := range slices.Sorted(maps.Keys(raw)) {
		m := raw[name]
		switch {
		case sets[name] != "":
			var s storedKeySet
			if err := json.Unmarshal(m, &s); err != nil {
				return nil, fmt.Errorf("%w: %s: %s: %v", ErrCorrupt, DeploymentKey, name, err)
			}
			for kid, sealed := range s.Keys {
				if s.Keys[kid], err = reseal(seal, sealed, DeploymentKey, name+"/"+kid); err != nil {
					return nil, err
				}
			}
			raw[name], _ = json.Marshal(&s)
		case slices.Contains(singleKeys(), name):
			var sealed string
			if err := json.Unmarshal(m, &sealed); err != nil {
				return nil, fmt.Errorf("%w: %s: %s: %v", ErrCorrupt, DeploymentKey, name, err)
			}
			if sealed, err = reseal(seal, sealed, DeploymentKey, name); err != nil {
				return nil, err
			}
			raw[name], _ = json.Marshal(sealed)
		default:
			if len(sealedKIDs(m)) > 0 {
				return nil, fmt.Errorf("%w: %s: member %q holds sealed values this attestctl cannot re-seal; upgrade attestctl", ErrRefused, DeploymentKey, name)
			}
		}
	}
	out, err := json.Marshal(raw)
	if err != nil {
		return nil, fmt.Errorf("state: encode deployment: %w", err)
	}
	return out, nil
}

func reseal(seal Sealer, sealed, storeKey, field string) (string, error) {
	v, err := openOpt(seal, sealed, storeKey, field)
	if err != nil || v.IsZero() {
		return "", err
	}
	return sealOpt(seal, v, aad(storeKey, field))
}

// SealedKeyIDs counts the sealed values of every record of snap by the
// master key they name (without opening them). A master key that no count
// names can be retired without making anything unreadable.
func SealedKeyIDs(snap *store.Snapshot) map[string]int {
	out := map[string]int{}
	for _, k := range snap.Keys("") {
		e, _ := snap.Get(k)
		for kid, n := range sealedKIDs(e.Value) {
			out[kid] += n
		}
	}
	return out
}

// sealedKIDs counts the JSON strings anywhere in value that have the shape
// of a sealed value, by key id. A value that is not JSON counts nothing.
func sealedKIDs(value []byte) map[string]int {
	var v any
	if json.Unmarshal(value, &v) != nil {
		return nil
	}
	out := map[string]int{}
	var walk func(any)
	walk = func(v any) {
		switch x := v.(type) {
		case string:
			if kid, ok := envelope.KeyID(x); ok {
				out[kid]++
			}
		case []any:
			for _, e := range x {
				walk(e)
			}
		case map[string]any:
			for _, e := range x {
				walk(e)
			}
		}
	}
	walk(v)
	return out
}
