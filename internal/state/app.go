package state

import (
	"encoding/json"
	"fmt"

	"github.com/attestd/attestd/internal/model"
)

// appText is model.App with its Play Integrity keys as strings (the
// shallower PlayIntegrity field wins in encoding/json): sealed, as an app
// is stored (an app without keys is stored as it always was), or in the
// clear, as an export shows it.
type appText struct {
	model.App
	PlayIntegrity *playText `json:"play_integrity,omitempty"`
}

type playText struct {
	playKeysText
	Previous *playKeysText `json:"previous,omitempty"`
}

type playKeysText struct {
	DecryptionKey   string `json:"decryption_key"`
	VerificationKey string `json:"verification_key"`
}

// playField is the field path of a Play Integrity key in an app record,
// part of its AAD: "play_integrity/decryption_key",
// "play_integrity/previous/verification_key", ...
func playField(previous bool, name string) string {
	if previous {
		return "play_integrity/previous/" + name
	}
	return "play_integrity/" + name
}

// EncodeApp returns the stored form of an app, its Play Integrity keys
// sealed with AAD "apps/<id>#play_integrity/<field>".
func EncodeApp(a *model.App, seal Sealer) (key string, value []byte, err error) {
	key = AppKey(a.ID)
	s := appText{App: *a}
	s.App.PlayIntegrity = nil
	if pi := a.PlayIntegrity; pi != nil {
		s.PlayIntegrity = &playText{}
		if s.PlayIntegrity.playKeysText, err = sealPlayKeys(seal, key, &pi.PlayKeys, false); err != nil {
			return "", nil, err
		}
		if pi.Previous != nil {
			prev, err := sealPlayKeys(seal, key, pi.Previous, true)
			if err != nil {
				return "", nil, err
			}
			s.PlayIntegrity.Previous = &prev
		}
	}
	value, err = json.Marshal(&s)
	if err != nil {
		return "", nil, fmt.Errorf("state: encode %s: %w", key, err)
	}
	return key, value, nil
}

func sealPlayKeys(seal Sealer, key string, k *model.PlayKeys, previous bool) (playKeysText, error) {
	var s playKeysText
	var err error
	if s.DecryptionKey, err = sealOpt(seal, k.DecryptionKey, aad(key, playField(previous, "decryption_key"))); err != nil {
		return s, err
	}
	s.VerificationKey, err = sealOpt(seal, k.VerificationKey, aad(key, playField(previous, "verification_key")))
	return s, err
}

// DecodeApp decodes the stored app at key, opening its Play Integrity
// keys. It fails with ErrCorrupt when the record does not decode, names
// another id than its key, or a sealed key does not open here (another
// master key, or a value moved from another app or field).
func DecodeApp(key string, value []byte, seal Sealer) (*model.App, error) {
	id, err := idFromKey(key, AppsPrefix)
	if err != nil {
		return nil, err
	}
	var s appText
	if err := decodeRecord(value, &s); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrCorrupt, key, err)
	}
	if s.App.ID != id {
		return nil, fmt.Errorf("%w: %s holds app %q", ErrCorrupt, key, s.App.ID)
	}
	a := s.App
	a.PlayIntegrity = nil
	if sp := s.PlayIntegrity; sp != nil {
		a.PlayIntegrity = &model.PlayIntegrity{}
		if a.PlayIntegrity.PlayKeys, err = openPlayKeys(seal, key, &sp.playKeysText, false); err != nil {
			return nil, err
		}
		if sp.Previous != nil {
			prev, err := openPlayKeys(seal, key, sp.Previous, true)
			if err != nil {
				return nil, err
			}
			a.PlayIntegrity.Previous = &prev
		}
	}
	return &a, nil
}

func openPlayKeys(seal Sealer, key string, s *playKeysText, previous bool) (model.PlayKeys, error) {
	var k model.PlayKeys
	var err error
	if k.DecryptionKey, err = openOpt(seal, s.DecryptionKey, key, playField(previous, "decryption_key")); err != nil {
		return k, err
	}
	k.VerificationKey, err = openOpt(seal, s.VerificationKey, key, playField(previous, "verification_key"))
	return k, err
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
