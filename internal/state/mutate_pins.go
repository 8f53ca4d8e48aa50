package state

import (
	"fmt"
	"slices"
	"strings"

	"github.com/attestd/attestd/internal/model"
)

// AddPins adds pins (b64 SHA-256 of SPKI) to host of the account. Pins
// already listed are skipped. Unless force is set, it is refused when the
// host would end up with a single pin: an app pinned to one key has no
// way to survive that key's rotation.
func AddPins(seal Sealer, account, host string, pins []string, force bool) Mutation {
	host = strings.ToLower(host)
	return editAccount(seal, account, func(a *model.Account) error {
		if a.Pins == nil {
			a.Pins = map[string][]string{}
		}
		cur := a.Pins[host]
		for _, p := range pins {
			if !slices.Contains(cur, p) {
				cur = append(cur, p)
			}
		}
		if len(cur) == 1 && !force {
			return fmt.Errorf("%w: host %q would have a single pin; add a backup pin too, or use --force", ErrRefused, host)
		}
		a.Pins[host] = cur
		return nil
	})
}

// RemovePin removes pin from host of the account; removing its last pin
// unpins the host. Unless force is set, it is refused when the host would
// be left with a single pin.
func RemovePin(seal Sealer, account, host, pin string, force bool) Mutation {
	host = strings.ToLower(host)
	return editAccount(seal, account, func(a *model.Account) error {
		cur := a.Pins[host]
		i := slices.Index(cur, pin)
		if i < 0 {
			return fmt.Errorf("%w: pin for host %q of account %q", ErrNotFound, host, account)
		}
		cur = slices.Delete(slices.Clone(cur), i, i+1)
		switch {
		case len(cur) == 0:
			delete(a.Pins, host)
		case len(cur) == 1 && !force:
			return fmt.Errorf("%w: host %q would be left with a single pin; add another first, or use --force", ErrRefused, host)
		default:
			a.Pins[host] = cur
		}
		return nil
	})
}
