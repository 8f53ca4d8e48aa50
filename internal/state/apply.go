package state

import (
	"fmt"
	"io"
	"reflect"

	"github.com/attestd/attestd/crypto/secret"
	"github.com/attestd/attestd/internal/model"
	"github.com/attestd/attestd/store"
)

// Apply computes the changes that import bundle b into snap: every account,
// app or ban list b names replaces the stored one whole; what b does not
// name stays. The bundle is validated first (model.Validate), then the
// merged registry (model.ValidateState); on any error nothing is returned
// to write. Missing deployment keys are created in the same change.
// Records equal to what is stored are not rewritten.
//
// A secret that reads "[redacted]" (an export without --reveal-secrets) is
// refused, so a redacted export cannot overwrite real secrets.
func Apply(snap *store.Snapshot, b *model.Bundle, seal Sealer, rnd io.Reader) (store.Changes, error) {
	if err := CheckBundle(b); err != nil {
		return store.Changes{}, err
	}
	reg, err := DecodeAll(snap, seal)
	if err != nil {
		return store.Changes{}, err
	}
	ch := store.Changes{Put: map[string][]byte{}}
	for i := range b.Accounts {
		a := &b.Accounts[i]
		if old := reg.Accounts[a.ID]; old != nil && reflect.DeepEqual(old, a) {
			continue
		}
		reg.Accounts[a.ID] = a
		k, v, err := EncodeAccount(a, seal)
		if err != nil {
			return store.Changes{}, err
		}
		ch.Put[k] = v
	}
	for i := range b.Apps {
		a := &b.Apps[i]
		if old := reg.Apps[a.ID]; old != nil && reflect.DeepEqual(old, a) {
			continue
		}
		reg.Apps[a.ID] = a
		k, v, err := EncodeApp(a, seal)
		if err != nil {
			return store.Changes{}, err
		}
		ch.Put[k] = v
	}
	if b.Bans != nil && (reg.Bans == nil || !reflect.DeepEqual(reg.Bans.Devices, b.Bans.Devices)) {
		v, err := EncodeBans(b.Bans)
		if err != nil {
			return store.Changes{}, err
		}
		ch.Put[BansKey] = v
	}
	if err := model.ValidateState(reg.Accounts, reg.Apps); err != nil {
		return store.Changes{}, err
	}
	if err := putDeployment(&ch, snap, seal, rnd); err != nil {
		return store.Changes{}, err
	}
	return ch, nil
}

// CheckBundle checks everything a bundle says about itself, as Apply does
// before looking at the store: model.Validate, and no "[redacted]" secret.
// Cross-references to stored records are checked by Apply.
func CheckBundle(b *model.Bundle) error {
	if err := checkNotRedacted(b); err != nil {
		return err
	}
	return b.Validate()
}

// putDeployment adds the deployment record to ch when keys are missing.
func putDeployment(ch *store.Changes, snap *store.Snapshot, seal Sealer, rnd io.Reader) error {
	v, changed, err := ensureDeployment(snap, seal, rnd)
	if err != nil {
		return err
	}
	if changed {
		if ch.Put == nil {
			ch.Put = map[string][]byte{}
		}
		ch.Put[DeploymentKey] = v
	}
	return nil
}

// EnsureDeployment creates the deployment keys that are missing (all of
// them on a new store) and changes nothing else.
func EnsureDeployment(seal Sealer, rnd io.Reader) Mutation {
	return func(snap *store.Snapshot) (store.Changes, error) {
		var ch store.Changes
		err := putDeployment(&ch, snap, seal, rnd)
		return ch, err
	}
}

func checkNotRedacted(b *model.Bundle) error {
	red := secret.FromString(secret.Redacted)
	for i, a := range b.Accounts {
		for j, k := range a.Keys {
			p := fmt.Sprintf("accounts[%d].keys[%d]", i, j)
			if k.Secret.Equal(red) {
				return redactedErr(p + ".secret")
			}
			if k.PrivateKey.Equal(red) {
				return redactedErr(p + ".private_key")
			}
		}
		for j, s := range a.Secrets {
			if s.Value.Equal(red) {
				return redactedErr(fmt.Sprintf("accounts[%d].secrets[%d].value", i, j))
			}
		}
	}
	for i, a := range b.Apps {
		pi := a.PlayIntegrity
		if pi == nil {
			continue
		}
		for _, x := range []struct {
			field string
			k     *model.PlayKeys
		}{{"", &pi.PlayKeys}, {".previous", pi.Previous}} {
			k := x.k
			if k == nil {
				continue
			}
			p := fmt.Sprintf("apps[%d].play_integrity%s", i, x.field)
			if k.DecryptionKey.Equal(red) {
				return redactedErr(p + ".decryption_key")
			}
			if k.VerificationKey.Equal(red) {
				return redactedErr(p + ".verification_key")
			}
		}
	}
	return nil
}

func redactedErr(path string) error {
	return fmt.Errorf("%w: %s: is %q (a redacted export); export with --reveal-secrets to re-import secrets",
		model.ErrInvalid, path, secret.Redacted)
}
