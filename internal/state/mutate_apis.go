package state

import (
	"fmt"
	"slices"

	"github.com/attestd/attestd/internal/model"
)

// PutAPI adds the proxied API to the account, or replaces the one of the
// same name. The result is validated whole: the upstream URL, exactly one
// of header and query, a secret the account has, and a name no other
// account uses (PROTOCOL.md §6).
func PutAPI(seal Sealer, account string, api model.API) Mutation {
	return editAccount(seal, account, func(a *model.Account) error {
		i := slices.IndexFunc(a.APIs, func(x model.API) bool { return x.Name == api.Name })
		if i < 0 {
			a.APIs = append(a.APIs, api)
		} else {
			a.APIs[i] = api
		}
		return nil
	})
}

// RemoveAPI removes the proxied API name from the account.
func RemoveAPI(seal Sealer, account, name string) Mutation {
	return editAccount(seal, account, func(a *model.Account) error {
		i := slices.IndexFunc(a.APIs, func(x model.API) bool { return x.Name == name })
		if i < 0 {
			return fmt.Errorf("%w: api %q of account %q", ErrNotFound, name, account)
		}
		a.APIs = slices.Delete(a.APIs, i, i+1)
		return nil
	})
}
