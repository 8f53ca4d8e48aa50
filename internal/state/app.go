package state

import (
	"encoding/json"
	"fmt"

	"github.com/attestd/attestd/internal/model"
)

// EncodeApp returns the stored form of an app (nothing in it is secret).
func EncodeApp(a *model.App) (key string, value []byte, err error) {
	key = AppKey(a.ID)
	value, err = json.Marshal(a)
	if err != nil {
		return "", nil, fmt.Errorf("state: encode %s: %w", key, err)
	}
	return key, value, nil
}

// DecodeApp decodes the stored app at key.
func DecodeApp(key string, value []byte) (*model.App, error) {
	id, err := idFromKey(key, AppsPrefix)
	if err != nil {
		return nil, err
	}
	var a model.App
	if err := decodeRecord(value, &a); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrCorrupt, key, err)
	}
	if a.ID != id {
		return nil, fmt.Errorf("%w: %s holds app %q", ErrCorrupt, key, a.ID)
	}
	return &a, nil
}

// EncodeBans returns the stored form of the ban list.
func EncodeBans(b *model.Bans) ([]byte, error) {
	c := model.Bans{Devices: b.Devices}
	if c.Devices == nil {
		c.Devices = []string{}
	}
	v, err := json.Marshal(&c)
	if err != nil {
		return nil, fmt.Errorf("state: encode bans: %w", err)
	}
	return v, nil
}

// DecodeBans decodes the stored ban list.
func DecodeBans(value []byte) (*model.Bans, error) {
	var b model.Bans
	if err := decodeRecord(value, &b); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrCorrupt, BansKey, err)
	}
	return &b, nil
}

// decodeRecord decodes a stored record into v as encoding/json does, but
// refuses a repeated member at any depth (model.RefuseRepeatedMembers):
// attestctl never writes one, and encoding/json would keep the last, so a
// record could say one thing to a reviewer and another to a node. Unknown
// members are still ignored, so that a node reads the records of a newer
// attestctl.
func decodeRecord(value []byte, v any) error {
	if err := model.RefuseRepeatedMembers(value); err != nil {
		return err
	}
	return json.Unmarshal(value, v)
}
