package state

import (
	"encoding/json"
	"fmt"
	"io"

	"github.com/attestd/attestd/store"
)

// RotateDeploymentKey adds a new key to a deployment key set (SetNonce,
// SetReceipt or SetTLSSessionTickets) and makes it active; the keys before
// stay listed, so what they made keeps verifying until they are removed
// with RemoveDeploymentKey. Missing deployment keys are created too. The
// new kid is stored in *kidOut when kidOut is not nil.
func RotateDeploymentKey(seal Sealer, rnd io.Reader, set string, kidOut *string) Mutation {
	return editKeySet(seal, rnd, set, func(s *storedKeySet, prefix string) error {
		kids := make([]string, 0, len(s.Keys))
		for k := range s.Keys {
			kids = append(kids, k)
		}
		kid := nextKID(prefix, kids)
		sealed, err := newSealedKey(seal, rnd, aad(DeploymentKey, set+"/"+kid))
		if err != nil {
			return err
		}
		s.Keys[kid] = sealed
		s.Active = kid
		if kidOut != nil {
			*kidOut = kid
		}
		return nil
	})
}

// RemoveDeploymentKey removes a key that is no longer active from a
// deployment key set. Remove a nonce key only after the nonce lifetime, a
// receipt key only after the receipt lifetime, has passed since rotation.
func RemoveDeploymentKey(seal Sealer, rnd io.Reader, set, kid string) Mutation {
	return editKeySet(seal, rnd, set, func(s *storedKeySet, _ string) error {
		if _, ok := s.Keys[kid]; !ok {
			return fmt.Errorf("%w: %s key %q", ErrNotFound, set, kid)
		}
		if s.Active == kid {
			return fmt.Errorf("%w: %s key %q is active; rotate first", ErrRefused, set, kid)
		}
		delete(s.Keys, kid)
		return nil
	})
}

func editKeySet(seal Sealer, rnd io.Reader, set string, edit func(*storedKeySet, string) error) Mutation {
	return func(snap *store.Snapshot) (store.Changes, error) {
		prefix, ok := keySets()[set]
		if !ok {
			return store.Changes{}, fmt.Errorf("%w: unknown deployment key set %q", ErrNotFound, set)
		}
		v, changed, err := ensureDeployment(snap, seal, rnd)
		if err != nil {
			return store.Changes{}, err
		}
		if !changed {
			e, _ := snap.Get(DeploymentKey)
			v = e.Value
		}
		raw, err := deploymentMembers(v)
		if err != nil {
			return store.Changes{}, err
		}
		var s storedKeySet
		if err := json.Unmarshal(raw[set], &s); err != nil {
			return store.Changes{}, fmt.Errorf("%w: %s: %s: %v", ErrCorrupt, DeploymentKey, set, err)
		}
		if err := edit(&s, prefix); err != nil {
			return store.Changes{}, err
		}
		if raw[set], err = json.Marshal(&s); err != nil {
			return store.Changes{}, fmt.Errorf("state: encode deployment: %w", err)
		}
		out, err := json.Marshal(raw)
		if err != nil {
			return store.Changes{}, fmt.Errorf("state: encode deployment: %w", err)
		}
		return store.Changes{Put: map[string][]byte{DeploymentKey: out}}, nil
	}
}
