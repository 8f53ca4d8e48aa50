package state

import (
	"encoding/json"
	"fmt"
	"slices"

	"github.com/attestd/attestd/crypto/secret"
	"github.com/attestd/attestd/internal/model"
	"github.com/attestd/attestd/store"
)

// Export returns the registry of snap as a bundle (accounts and apps sorted
// by id; the ban list when stored). Unless reveal is set, every secret
// field (an app's Play Integrity keys included) holds secret.Redacted
// instead of its value. Deployment keys are
// never exported: they belong to the store, not to a bundle.
//
// Note that a secret.Value marshals as "[redacted]" whatever it holds: to
// print revealed secrets use MarshalRevealed.
func Export(snap *store.Snapshot, seal Sealer, reveal bool) (*model.Bundle, error) {
	reg, err := DecodeAll(snap, seal)
	if err != nil {
		return nil, err
	}
	b := &model.Bundle{Bans: reg.Bans}
	for _, id := range sortedIDs(reg.Accounts) {
		a := reg.Accounts[id]
		if !reveal {
			Redact(a)
		}
		b.Accounts = append(b.Accounts, *a)
	}
	for _, id := range sortedIDs(reg.Apps) {
		a := reg.Apps[id]
		if !reveal {
			RedactApp(a)
		}
		b.Apps = append(b.Apps, *a)
	}
	return b, nil
}

// RedactApp replaces the app's Play Integrity keys with secret.Redacted.
func RedactApp(a *model.App) {
	pi := a.PlayIntegrity
	if pi == nil {
		return
	}
	red := secret.FromString(secret.Redacted)
	for _, k := range []*model.PlayKeys{&pi.PlayKeys, pi.Previous} {
		if k != nil {
			k.DecryptionKey, k.VerificationKey = red, red
		}
	}
}

// Redact replaces every non-empty secret field of a with secret.Redacted.
func Redact(a *model.Account) {
	red := secret.FromString(secret.Redacted)
	for i := range a.Keys {
		k := &a.Keys[i]
		if !k.Secret.IsZero() {
			k.Secret = red
		}
		if !k.PrivateKey.IsZero() {
			k.PrivateKey = red
		}
	}
	for i := range a.Secrets {
		if !a.Secrets[i].Value.IsZero() {
			a.Secrets[i].Value = red
		}
	}
}

// revealedAccount is model.Account with secrets as plain strings.
type revealedAccount struct {
	model.Account
	Keys    []revealedKey    `json:"keys"`
	Secrets []revealedSecret `json:"secrets,omitempty"`
}

type revealedKey struct {
	KID        string `json:"kid"`
	Alg        string `json:"alg"`
	Status     string `json:"status"`
	Secret     string `json:"secret,omitempty"`
	PrivateKey string `json:"private_key,omitempty"`
}

type revealedSecret struct {
	Name  string   `json:"name"`
	Value string   `json:"value"`
	Apps  []string `json:"apps,omitempty"`
}

func revealPlayKeys(k *model.PlayKeys) playKeysText {
	return playKeysText{DecryptionKey: string(k.DecryptionKey.Reveal()), VerificationKey: string(k.VerificationKey.Reveal())}
}

// revealApp is a as an export shows it: its Play keys in the clear.
func revealApp(a model.App) appText {
	ra := appText{App: a}
	ra.App.PlayIntegrity = nil
	if pi := a.PlayIntegrity; pi != nil {
		ra.PlayIntegrity = &playText{playKeysText: revealPlayKeys(&pi.PlayKeys)}
		if pi.Previous != nil {
			prev := revealPlayKeys(pi.Previous)
			ra.PlayIntegrity.Previous = &prev
		}
	}
	return ra
}

type revealedBundle struct {
	Accounts []revealedAccount `json:"accounts,omitempty"`
	Apps     []appText         `json:"apps,omitempty"`
	Bans     *model.Bans       `json:"bans,omitempty"`
}

// MarshalRevealed encodes b as an indented JSON bundle WITH its secret
// values, in the form model.DecodeBundle reads back. Use it only when an
// operator explicitly asks (`attestctl export --reveal-secrets`).
func MarshalRevealed(b *model.Bundle) ([]byte, error) {
	rb := revealedBundle{Bans: b.Bans}
	for _, a := range b.Apps {
		rb.Apps = append(rb.Apps, revealApp(a))
	}
	for _, a := range b.Accounts {
		ra := revealedAccount{Account: a}
		ra.Account.Keys, ra.Account.Secrets = nil, nil
		for _, k := range a.Keys {
			ra.Keys = append(ra.Keys, revealedKey{KID: k.KID, Alg: k.Alg, Status: k.Status,
				Secret: string(k.Secret.Reveal()), PrivateKey: string(k.PrivateKey.Reveal())})
		}
		for _, s := range a.Secrets {
			ra.Secrets = append(ra.Secrets, revealedSecret{Name: s.Name, Value: string(s.Value.Reveal()), Apps: s.Apps})
		}
		rb.Accounts = append(rb.Accounts, ra)
	}
	out, err := json.MarshalIndent(&rb, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("state: encode bundle: %w", err)
	}
	return out, nil
}

func sortedIDs[V any](m map[string]V) []string {
	ids := make([]string, 0, len(m))
	for k := range m {
		ids = append(ids, k)
	}
	slices.Sort(ids)
	return ids
}
