package state

import (
	"encoding/json"
	"fmt"

	"github.com/attestd/attestd/crypto/secret"
	"github.com/attestd/attestd/internal/model"
)

// storedAccount is an account as stored: model.Account with its secret
// fields replaced by sealed strings. Embedding keeps every other field of
// model.Account (the shallower Keys and Secrets fields win in encoding/json).
type storedAccount struct {
	model.Account
	Keys    []storedKey    `json:"keys"`
	Secrets []storedSecret `json:"secrets,omitempty"`
}

type storedKey struct {
	KID        string `json:"kid"`
	Alg        string `json:"alg"`
	Status     string `json:"status"`
	Secret     string `json:"secret,omitempty"`
	PrivateKey string `json:"private_key,omitempty"`
}

type storedSecret struct {
	Name  string   `json:"name"`
	Value string   `json:"value"`
	Apps  []string `json:"apps,omitempty"`
}

func keySecretField(kid string) string    { return "keys/" + kid + "/secret" }
func keyPrivateField(kid string) string   { return "keys/" + kid + "/private_key" }
func secretValueField(name string) string { return "secrets/" + name + "/value" }

// EncodeAccount returns the stored form of a, every secret sealed.
func EncodeAccount(a *model.Account, seal Sealer) (key string, value []byte, err error) {
	key = AccountKey(a.ID)
	s := storedAccount{Account: *a}
	s.Account.Keys, s.Account.Secrets = nil, nil
	for _, k := range a.Keys {
		sk := storedKey{KID: k.KID, Alg: k.Alg, Status: k.Status}
		if sk.Secret, err = sealOpt(seal, k.Secret, aad(key, keySecretField(k.KID))); err != nil {
			return "", nil, err
		}
		if sk.PrivateKey, err = sealOpt(seal, k.PrivateKey, aad(key, keyPrivateField(k.KID))); err != nil {
			return "", nil, err
		}
		s.Keys = append(s.Keys, sk)
	}
	for _, sec := range a.Secrets {
		ss := storedSecret{Name: sec.Name, Apps: sec.Apps}
		if ss.Value, err = sealOpt(seal, sec.Value, aad(key, secretValueField(sec.Name))); err != nil {
			return "", nil, err
		}
		s.Secrets = append(s.Secrets, ss)
	}
	value, err = json.Marshal(&s)
	if err != nil {
		return "", nil, fmt.Errorf("state: encode %s: %w", key, err)
	}
	return key, value, nil
}

// DecodeAccount decodes the stored account at key, opening every sealed
// field. It fails with ErrCorrupt when the record does not decode, names
// another id than its key, or a sealed value does not open here.
func DecodeAccount(key string, value []byte, seal Sealer) (*model.Account, error) {
	id, err := idFromKey(key, AccountsPrefix)
	if err != nil {
		return nil, err
	}
	var s storedAccount
	if err := decodeRecord(value, &s); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrCorrupt, key, err)
	}
	if s.Account.ID != id {
		return nil, fmt.Errorf("%w: %s holds account %q", ErrCorrupt, key, s.Account.ID)
	}
	a := s.Account
	a.Keys, a.Secrets = nil, nil
	for _, sk := range s.Keys {
		k := model.Key{KID: sk.KID, Alg: sk.Alg, Status: sk.Status}
		if k.Secret, err = openOpt(seal, sk.Secret, key, keySecretField(sk.KID)); err != nil {
			return nil, err
		}
		if k.PrivateKey, err = openOpt(seal, sk.PrivateKey, key, keyPrivateField(sk.KID)); err != nil {
			return nil, err
		}
		a.Keys = append(a.Keys, k)
	}
	for _, ss := range s.Secrets {
		sec := model.Secret{Name: ss.Name, Apps: ss.Apps}
		if sec.Value, err = openOpt(seal, ss.Value, key, secretValueField(ss.Name)); err != nil {
			return nil, err
		}
		a.Secrets = append(a.Secrets, sec)
	}
	return &a, nil
}

// sealOpt seals v, or returns "" for an empty value.
func sealOpt(seal Sealer, v secret.Value, aadStr string) (string, error) {
	if v.IsZero() {
		return "", nil
	}
	s, err := seal.Seal(v.Reveal(), aadStr)
	if err != nil {
		return "", fmt.Errorf("state: seal %s: %w", aadStr, err)
	}
	return s, nil
}

// openOpt opens sealed, or returns the zero Value for "".
func openOpt(seal Sealer, sealed, storeKey, field string) (secret.Value, error) {
	if sealed == "" {
		return secret.Value{}, nil
	}
	v, err := seal.Open(sealed, aad(storeKey, field))
	if err != nil {
		return secret.Value{}, fmt.Errorf("%w: %s: %s does not open: %w", ErrCorrupt, storeKey, field, err)
	}
	return v, nil
}
