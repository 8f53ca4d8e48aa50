package state

import (
	"fmt"
	"slices"

	"github.com/attestd/attestd/crypto/secret"
	"github.com/attestd/attestd/internal/model"
)

// PutSecret sets the value of the account's runtime secret name, creating
// it if needed. apps, when not nil, replaces the apps it is released to;
// nil keeps them (none for a new secret).
func PutSecret(seal Sealer, account, name string, value secret.Value, apps []string) Mutation {
	return editAccount(seal, account, func(a *model.Account) error {
		i := findSecret(a, name)
		if i < 0 {
			a.Secrets = append(a.Secrets, model.Secret{Name: name})
			i = len(a.Secrets) - 1
		}
		a.Secrets[i].Value = value
		if apps != nil {
			a.Secrets[i].Apps = slices.Clone(apps)
		}
		return nil
	})
}

// AssignSecret replaces the apps the account's secret name is released to.
func AssignSecret(seal Sealer, account, name string, apps []string) Mutation {
	return editAccount(seal, account, func(a *model.Account) error {
		i := findSecret(a, name)
		if i < 0 {
			return fmt.Errorf("%w: secret %q of account %q", ErrNotFound, name, account)
		}
		a.Secrets[i].Apps = slices.Clone(apps)
		return nil
	})
}

// DeleteSecret removes the account's secret name. It is refused (as a
// validation error) while an API of the account injects it.
func DeleteSecret(seal Sealer, account, name string) Mutation {
	return editAccount(seal, account, func(a *model.Account) error {
		i := findSecret(a, name)
		if i < 0 {
			return fmt.Errorf("%w: secret %q of account %q", ErrNotFound, name, account)
		}
		a.Secrets = slices.Delete(a.Secrets, i, i+1)
		return nil
	})
}
