package state

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"io"

	"github.com/attestd/attestd/crypto/secret"
	"github.com/attestd/attestd/internal/model"
)

// HS256KeyBytes is the size of the HS256 secrets GenerateKey makes.
const HS256KeyBytes = 32

// GenerateKey makes new key material for alg (HS256: 32 random bytes;
// ES256: a P-256 key; EdDSA: an Ed25519 key), as a key with status verify.
// An empty kid is left for AddKey to choose.
func GenerateKey(alg, kid string, rnd io.Reader) (model.Key, error) {
	k := model.Key{KID: kid, Alg: alg, Status: model.StatusVerify}
	switch alg {
	case model.AlgHS256:
		raw := make([]byte, HS256KeyBytes)
		if _, err := io.ReadFull(rnd, raw); err != nil {
			return model.Key{}, fmt.Errorf("state: random key: %w", err)
		}
		k.Secret = secret.FromString(base64.StdEncoding.EncodeToString(raw))
		clear(raw)
	case model.AlgES256, model.AlgEdDSA:
		var priv any
		var err error
		if alg == model.AlgES256 {
			priv, err = ecdsa.GenerateKey(elliptic.P256(), rnd)
		} else {
			_, priv, err = ed25519.GenerateKey(rnd)
		}
		if err != nil {
			return model.Key{}, fmt.Errorf("state: generate %s key: %w", alg, err)
		}
		der, err := x509.MarshalPKCS8PrivateKey(priv)
		if err != nil {
			return model.Key{}, fmt.Errorf("state: encode %s key: %w", alg, err)
		}
		k.PrivateKey = secret.FromString(base64.StdEncoding.EncodeToString(der))
		clear(der)
	default:
		return model.Key{}, fmt.Errorf("%w: alg: must be HS256, ES256 or EdDSA", model.ErrInvalid)
	}
	return k, nil
}

// AddKey adds k to the account with status verify (whatever k says): it is
// accepted by verifiers at once and signs only once activated. An empty
// k.KID becomes the next free "k<N>". The chosen kid is stored in *kidOut
// when kidOut is not nil.
func AddKey(seal Sealer, account string, k model.Key, kidOut *string) Mutation {
	return editAccount(seal, account, func(a *model.Account) error {
		k := k
		k.Status = model.StatusVerify
		if k.KID == "" {
			kids := make([]string, 0, len(a.Keys))
			for _, x := range a.Keys {
				kids = append(kids, x.KID)
			}
			k.KID = nextKID("k", kids)
		}
		if _, err := findKey(a, k.KID); err == nil {
			return fmt.Errorf("%w: account %q already has a key %q", ErrRefused, account, k.KID)
		}
		a.Keys = append(a.Keys, k)
		if kidOut != nil {
			*kidOut = k.KID
		}
		return nil
	})
}

// ActivateKey makes kid the account's signing key; the key active before
// becomes verify, so tokens it signed keep verifying until it is retired.
// A retired key cannot be activated again (add a new one).
func ActivateKey(seal Sealer, account, kid string) Mutation {
	return editAccount(seal, account, func(a *model.Account) error {
		k, err := findKey(a, kid)
		if err != nil {
			return err
		}
		switch k.Status {
		case model.StatusActive:
			return nil
		case model.StatusRetired:
			return fmt.Errorf("%w: key %q of account %q is retired; add a new key instead", ErrRefused, kid, account)
		}
		for i := range a.Keys {
			if a.Keys[i].Status == model.StatusActive {
				a.Keys[i].Status = model.StatusVerify
			}
		}
		k.Status = model.StatusActive
		return nil
	})
}

// RetireKey marks kid retired: verifiers stop accepting tokens it signed.
// The active key cannot be retired (activate another first). Retire a
// replaced key only once the account's token TTL has passed since.
func RetireKey(seal Sealer, account, kid string) Mutation {
	return editAccount(seal, account, func(a *model.Account) error {
		k, err := findKey(a, kid)
		if err != nil {
			return err
		}
		if k.Status == model.StatusActive {
			return fmt.Errorf("%w: key %q is the active key of account %q; activate another key first", ErrRefused, kid, account)
		}
		k.Status = model.StatusRetired
		return nil
	})
}
