package registry

import (
	"encoding/base64"
	"encoding/json"
	"fmt"

	"github.com/attestd/attestd/crypto/secret"
	"github.com/attestd/attestd/crypto/token"
	"github.com/attestd/attestd/internal/model"
)

// compileAccount parses and self-tests every usable key (token.NewSigner
// signs and verifies a probe), opens the secrets and pre-encodes what
// every verdict sends.
func compileAccount(m *model.Account) (*Account, error) {
	a := &Account{ID: m.ID, TTL: int64(m.Token.TTLSeconds()), Annotate: m.Token.Annotate, APIs: map[string]*API{}}
	var verify []token.VerifyKey
	for _, k := range m.Keys {
		if k.Status == model.StatusRetired {
			continue
		}
		s, err := signerOf(k)
		if err != nil {
			return nil, fmt.Errorf("registry: account %q key %q: %w", m.ID, k.KID, err)
		}
		verify = append(verify, s.Verifier())
		if k.Status == model.StatusActive {
			a.Signer = s
		}
	}
	if a.Signer == nil {
		return nil, fmt.Errorf("registry: account %q has no active key", m.ID)
	}
	var err error
	if a.Decoy, err = a.Signer.Decoy(); err != nil {
		return nil, fmt.Errorf("registry: account %q decoy: %w", m.ID, err)
	}
	if a.Keys, err = token.NewKeySet(verify...); err != nil {
		return nil, fmt.Errorf("registry: account %q keys: %w", m.ID, err)
	}
	a.JWKS = token.AppendJWKS(nil, verify)
	a.Pins = m.Pins
	if a.Pins == nil {
		a.Pins = map[string][]string{}
	}
	if a.PinsJSON, err = json.Marshal(a.Pins); err != nil {
		return nil, fmt.Errorf("registry: account %q pins: %w", m.ID, err)
	}
	if a.secrets, err = secretsByApp(m.Secrets); err != nil {
		return nil, fmt.Errorf("registry: account %q secrets: %w", m.ID, err)
	}
	byName := map[string]secret.Value{}
	for _, s := range m.Secrets {
		byName[s.Name] = s.Value
	}
	for _, api := range m.APIs {
		a.APIs[api.Name] = &API{Name: api.Name, Account: m.ID, Upstream: api.Upstream, RequireBinding: api.RequireBinding,
			RequireSignature: api.RequireSignature, Header: api.Inject.Header, Query: api.Inject.Query, Secret: byName[api.Inject.Secret]}
	}
	return a, nil
}

// signerOf builds a signer from a stored key's material (b64 in bundles).
func signerOf(k model.Key) (*token.Signer, error) {
	material := k.Secret
	if k.Alg != model.AlgHS256 {
		material = k.PrivateKey
	}
	raw, err := base64.StdEncoding.Strict().DecodeString(string(material.Reveal()))
	if err != nil {
		return nil, fmt.Errorf("key material is not base64")
	}
	return token.NewSigner(k.KID, token.Alg(k.Alg), secret.New(raw))
}

// secretsByApp encodes, per app, the JSON object of its secrets (§4).
func secretsByApp(secrets []model.Secret) (map[string]secret.Value, error) {
	objs := map[string]map[string]string{}
	for _, s := range secrets {
		for _, app := range s.Apps {
			if objs[app] == nil {
				objs[app] = map[string]string{}
			}
			objs[app][s.Name] = string(s.Value.Reveal())
		}
	}
	out := make(map[string]secret.Value, len(objs))
	for app, obj := range objs {
		b, err := json.Marshal(obj)
		if err != nil {
			return nil, err
		}
		out[app] = secret.New(b)
		clear(b)
	}
	return out, nil
}
