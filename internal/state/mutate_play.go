package state

import (
	"fmt"

	"github.com/attestd/attestd/internal/model"
)

// SetPlayIntegrity sets app's Play Integrity keys (PROTOCOL.md §10) to
// keys. Without rotate the pair replaces whatever the app held (a previous
// pair included). With rotate the current pair becomes the previous one,
// still accepted for the tokens Play made with it before the owner
// switched keys in Play Console, and any older previous pair is dropped;
// rotating an app that has no keys, or to the pair it already uses, is
// refused (ErrRefused). The keys are validated as an import validates
// them; the app must belong to account (ErrNotFound otherwise).
func SetPlayIntegrity(seal Sealer, account, app string, keys model.PlayKeys, rotate bool) Mutation {
	return editApp(seal, account, app, func(a *model.App) error {
		pi := &model.PlayIntegrity{PlayKeys: keys}
		if rotate {
			cur := a.PlayIntegrity
			switch {
			case cur == nil:
				return fmt.Errorf("%w: app %q has no Play Integrity keys to rotate from; set them first", ErrRefused, app)
			case samePlayKeys(&cur.PlayKeys, &keys):
				return fmt.Errorf("%w: app %q already uses this key pair", ErrRefused, app)
			}
			prev := cur.PlayKeys
			pi.Previous = &prev
		}
		a.PlayIntegrity = pi
		return nil
	})
}

// EndPlayRotation drops app's previous Play Integrity pair, so that only
// the current one is accepted. It is refused (ErrRefused) when the app is
// not in a rotation.
func EndPlayRotation(seal Sealer, account, app string) Mutation {
	return editApp(seal, account, app, func(a *model.App) error {
		if a.PlayIntegrity == nil || a.PlayIntegrity.Previous == nil {
			return fmt.Errorf("%w: app %q has no previous Play Integrity key pair", ErrRefused, app)
		}
		a.PlayIntegrity.Previous = nil
		return nil
	})
}

// RemovePlayIntegrity removes app's Play Integrity keys: its play-integrity
// tokens fail from then on (play_unconfigured); receipts already issued
// stand until they expire.
func RemovePlayIntegrity(seal Sealer, account, app string) Mutation {
	return editApp(seal, account, app, func(a *model.App) error {
		if a.PlayIntegrity == nil {
			return fmt.Errorf("%w: Play Integrity keys of app %q", ErrNotFound, app)
		}
		a.PlayIntegrity = nil
		return nil
	})
}

func samePlayKeys(a, b *model.PlayKeys) bool {
	return a.DecryptionKey.Equal(b.DecryptionKey) && a.VerificationKey.Equal(b.VerificationKey)
}
