package state

import (
	"fmt"
	"io"
	"maps"

	"github.com/attestd/attestd/internal/model"
	"github.com/attestd/attestd/store"
)

// The mutations of `attestctl account add`, `app add` and `app version
// add|remove`: each builds the whole record and writes it through Apply,
// so that a record made on the command line is validated, stored and
// accompanied by the deployment keys exactly as one imported in a bundle.

// AddAccount creates account a (its keys as given). An account of that id
// that exists already is refused (ErrRefused): adding never replaces.
func AddAccount(seal Sealer, rnd io.Reader, a model.Account) Mutation {
	return func(snap *store.Snapshot) (store.Changes, error) {
		if _, ok := snap.Get(AccountKey(a.ID)); ok {
			return store.Changes{}, fmt.Errorf("%w: account %q exists already", ErrRefused, a.ID)
		}
		return Apply(snap, &model.Bundle{Accounts: []model.Account{a}}, seal, rnd)
	}
}

// AddApp registers app a under its account, which must exist
// (ErrNotFound). An app of that id that exists already is refused
// (ErrRefused), whichever account it belongs to.
func AddApp(seal Sealer, rnd io.Reader, a model.App) Mutation {
	return func(snap *store.Snapshot) (store.Changes, error) {
		if _, ok := snap.Get(AccountKey(a.Account)); !ok {
			return store.Changes{}, fmt.Errorf("%w: account %q", ErrNotFound, a.Account)
		}
		if _, ok := snap.Get(AppKey(a.ID)); ok {
			return store.Changes{}, fmt.Errorf("%w: app %q exists already", ErrRefused, a.ID)
		}
		return Apply(snap, &model.Bundle{Apps: []model.App{a}}, seal, rnd)
	}
}

// editApp returns a Mutation that lets edit change a copy of app id of
// account, and writes it back through Apply. An app of another account is
// not found.
func editApp(seal Sealer, rnd io.Reader, account, id string, edit func(*model.App) error) Mutation {
	return func(snap *store.Snapshot) (store.Changes, error) {
		e, ok := snap.Get(AppKey(id))
		if !ok {
			return store.Changes{}, fmt.Errorf("%w: app %q", ErrNotFound, id)
		}
		a, err := DecodeApp(AppKey(id), e.Value)
		if err != nil {
			return store.Changes{}, err
		}
		if a.Account != account {
			return store.Changes{}, fmt.Errorf("%w: app %q of account %q (it belongs to %q)", ErrNotFound, id, account, a.Account)
		}
		a.Versions = maps.Clone(a.Versions)
		if err := edit(a); err != nil {
			return store.Changes{}, err
		}
		return Apply(snap, &model.Bundle{Apps: []model.App{*a}}, seal, rnd)
	}
}

// AddAppVersion registers version of app id (of account) with the b64u
// code digest. A version registered already with another digest is
// refused (a release's code does not change; remove the version first to
// correct it); with the same digest nothing changes.
func AddAppVersion(seal Sealer, rnd io.Reader, account, id, version, digest string) Mutation {
	return editApp(seal, rnd, account, id, func(a *model.App) error {
		if old, ok := a.Versions[version]; ok && old != digest {
			return fmt.Errorf("%w: version %q of app %q is registered with another code digest; remove it first to change it", ErrRefused, version, id)
		}
		if a.Versions == nil {
			a.Versions = map[string]string{}
		}
		a.Versions[version] = digest
		return nil
	})
}

// RemoveAppVersion unregisters version of app id (of account): its attests
// fail with version_unknown. The app's last version cannot be removed
// (remove the app instead).
func RemoveAppVersion(seal Sealer, rnd io.Reader, account, id, version string) Mutation {
	return editApp(seal, rnd, account, id, func(a *model.App) error {
		if _, ok := a.Versions[version]; !ok {
			return fmt.Errorf("%w: version %q of app %q", ErrNotFound, version, id)
		}
		if len(a.Versions) == 1 {
			return fmt.Errorf("%w: %q is the only version of app %q; remove the app instead", ErrRefused, version, id)
		}
		delete(a.Versions, version)
		return nil
	})
}
