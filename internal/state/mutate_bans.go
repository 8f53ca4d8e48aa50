package state

import (
	"fmt"
	"slices"

	"github.com/attestd/attestd/internal/model"
	"github.com/attestd/attestd/store"
)

// AddBan adds a device (its did, PROTOCOL.md §3) to the ban list. Adding a
// banned device again changes nothing.
func AddBan(did string) Mutation {
	return editBans(func(b *model.Bans) (bool, error) {
		if slices.Contains(b.Devices, did) {
			return false, nil
		}
		b.Devices = append(b.Devices, did)
		return true, nil
	})
}

// RemoveBan removes a device from the ban list.
func RemoveBan(did string) Mutation {
	return editBans(func(b *model.Bans) (bool, error) {
		i := slices.Index(b.Devices, did)
		if i < 0 {
			return false, fmt.Errorf("%w: device %q is not banned", ErrNotFound, did)
		}
		b.Devices = slices.Delete(b.Devices, i, i+1)
		return true, nil
	})
}

func editBans(edit func(*model.Bans) (bool, error)) Mutation {
	return func(snap *store.Snapshot) (store.Changes, error) {
		b := &model.Bans{}
		if e, ok := snap.Get(BansKey); ok {
			var err error
			if b, err = DecodeBans(e.Value); err != nil {
				return store.Changes{}, err
			}
		}
		changed, err := edit(b)
		if err != nil || !changed {
			return store.Changes{}, err
		}
		if err := b.Validate("bans"); err != nil {
			return store.Changes{}, err
		}
		v, err := EncodeBans(b)
		if err != nil {
			return store.Changes{}, err
		}
		return store.Changes{Put: map[string][]byte{BansKey: v}}, nil
	}
}
