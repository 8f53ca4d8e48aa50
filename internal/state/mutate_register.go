package state

import (
	"fmt"
	"io"
	"reflect"

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

// editApp returns a Mutation that decodes the registry, lets edit change
// app id of account in place, validates the app and the registry, and
// writes the app back; when edit changed nothing, nothing is written. An
// app of another account is not found.
func editApp(seal Sealer, account, id string, edit func(*model.App) error) Mutation {
	return func(snap *store.Snapshot) (store.Changes, error) {
		reg, err := DecodeAll(snap, seal)
		if err != nil {
			return store.Changes{}, err
		}
		a := reg.Apps[id]
		if a == nil || a.Account != account {
			return store.Changes{}, fmt.Errorf("%w: app %q of account %q", ErrNotFound, id, account)
		}
		e, _ := snap.Get(AppKey(id))
		orig, err := DecodeApp(AppKey(id), e.Value, seal)
		if err != nil {
			return store.Changes{}, err
		}
		if err := edit(a); err != nil {
			return store.Changes{}, err
		}
		if reflect.DeepEqual(orig, a) {
			return store.Changes{}, nil
		}
		if err := a.Validate(fmt.Sprintf("apps[%q]", id)); err != nil {
			return store.Changes{}, err
		}
		if err := model.ValidateState(reg.Accounts, reg.Apps); err != nil {
			return store.Changes{}, err
		}
		k, v, err := EncodeApp(a, seal)
		if err != nil {
			return store.Changes{}, err
		}
		return store.Changes{Put: map[string][]byte{k: v}}, nil
	}
}

// AddAppVersion registers version of app id (of account) with the b64u
// code digest. A version registered already with another digest is
// refused (a release's code does not change; remove the version first to
// correct it); with the same digest nothing changes.
func AddAppVersion(seal Sealer, account, id, version, digest string) Mutation {
	return editApp(seal, account, id, func(a *model.App) error {
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
func RemoveAppVersion(seal Sealer, account, id, version string) Mutation {
	return editApp(seal, account, id, func(a *model.App) error {
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
