package state

import (
	"fmt"
	"slices"
	"strings"

	"github.com/attestd/attestd/internal/model"
)

// APIStated says which security settings of an API a put states (an
// operator's flag given, a bundle's whole record). The zero value states
// none.
type APIStated struct {
	RequireBinding, RequireSignature bool
}

// UnstatedError refuses a put that would turn off, without stating it, a
// security setting the stored API of the same name has on. It matches
// ErrRefused. Settings are the JSON names of those settings, sorted.
type UnstatedError struct {
	Account, API string
	Settings     []string
}

func (e *UnstatedError) Error() string {
	it := "it"
	if len(e.Settings) > 1 {
		it = "them"
	}
	return fmt.Sprintf("%v: api %q of account %q has %s on, and the change does not say whether to keep %s",
		ErrRefused, e.API, e.Account, strings.Join(e.Settings, " and "), it)
}

func (e *UnstatedError) Is(target error) bool { return target == ErrRefused }

// PutAPI adds the proxied API to the account, or replaces the one of the
// same name. The result is validated whole: the upstream URL, exactly one
// of header and query, a secret the account has, and a name no other
// account uses (PROTOCOL.md §6). A replacement that would turn off a
// security setting (require_binding, require_signature) that stated does
// not name is refused (*UnstatedError): a setting is turned off only when
// said so, never because the put did not mention it.
func PutAPI(seal Sealer, account string, api model.API, stated APIStated) Mutation {
	return editAccount(seal, account, func(a *model.Account) error {
		i := slices.IndexFunc(a.APIs, func(x model.API) bool { return x.Name == api.Name })
		if i < 0 {
			a.APIs = append(a.APIs, api)
			return nil
		}
		old := a.APIs[i]
		var unstated []string
		if old.RequireBinding && !api.RequireBinding && !stated.RequireBinding {
			unstated = append(unstated, "require_binding")
		}
		if old.RequireSignature && !api.RequireSignature && !stated.RequireSignature {
			unstated = append(unstated, "require_signature")
		}
		if len(unstated) > 0 {
			return &UnstatedError{Account: account, API: api.Name, Settings: unstated}
		}
		a.APIs[i] = api
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
