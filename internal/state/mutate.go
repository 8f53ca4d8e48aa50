package state

import (
	"fmt"

	"github.com/attestd/attestd/internal/model"
	"github.com/attestd/attestd/store"
)

// editAccount returns a Mutation that decodes the registry, lets edit
// change account id in place, validates the account and the registry, and
// writes the account back.
func editAccount(seal Sealer, id string, edit func(*model.Account) error) Mutation {
	return func(snap *store.Snapshot) (store.Changes, error) {
		reg, err := DecodeAll(snap, seal)
		if err != nil {
			return store.Changes{}, err
		}
		a := reg.Accounts[id]
		if a == nil {
			return store.Changes{}, fmt.Errorf("%w: account %q", ErrNotFound, id)
		}
		if err := edit(a); err != nil {
			return store.Changes{}, err
		}
		if err := reg.validateAccount(id); err != nil {
			return store.Changes{}, err
		}
		k, v, err := EncodeAccount(a, seal)
		if err != nil {
			return store.Changes{}, err
		}
		return store.Changes{Put: map[string][]byte{k: v}}, nil
	}
}

func findKey(a *model.Account, kid string) (*model.Key, error) {
	for i := range a.Keys {
		if a.Keys[i].KID == kid {
			return &a.Keys[i], nil
		}
	}
	return nil, fmt.Errorf("%w: key %q of account %q", ErrNotFound, kid, a.ID)
}

func findSecret(a *model.Account, name string) int {
	for i := range a.Secrets {
		if a.Secrets[i].Name == name {
			return i
		}
	}
	return -1
}
