package state

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"

	"github.com/attestd/attestd/crypto/secret"
	"github.com/attestd/attestd/internal/model"
	"github.com/attestd/attestd/store"
)

// DemoInfo describes the demo registry of DemoBundle, for `attestctl try`,
// first-run messages and the README.
type DemoInfo struct {
	AccountID string
	AppID     string
	Platform  string
	Version   string
	// CodeDigest is the raw 32-byte code digest of Version: the HMAC key of
	// the measurement (PROTOCOL.md §2).
	CodeDigest []byte
	// Signer is the raw 32-byte SHA-256 of the demo "signing certificate".
	Signer     []byte
	SecretName string
	PinHost    string
}

// The demo's well-known values are SHA-256 digests of these labels, so
// anyone can recompute them; they protect nothing.
const (
	demoCodeLabel   = "attestd demo code digest v1"
	demoSignerLabel = "attestd demo signing certificate v1"
	demoPinLabel    = "attestd demo pin %d"
)

// Demo returns the fixed description of the demo registry.
func Demo() DemoInfo {
	code := sha256.Sum256([]byte(demoCodeLabel))
	signer := sha256.Sum256([]byte(demoSignerLabel))
	return DemoInfo{
		AccountID:  "demo",
		AppID:      "com.example.demo",
		Platform:   model.PlatformAndroid,
		Version:    "1.0.0",
		CodeDigest: code[:],
		Signer:     signer[:],
		SecretName: "demo_api_key",
		PinHost:    "api.example.com",
	}
}

// DemoBundle returns a DEMO registry to try attestd with, never to protect
// anything: account "demo" with a fresh random HS256 key and token
// annotation on; the android app "com.example.demo", version "1.0.0", whose
// code digest and signer are the fixed, publicly known values of Demo();
// a random runtime secret "demo_api_key" released to the app; and two
// (made-up) pins for "api.example.com".
func DemoBundle(rnd io.Reader) (*model.Bundle, DemoInfo, error) {
	info := Demo()
	key, err := GenerateKey(model.AlgHS256, "k1", rnd)
	if err != nil {
		return nil, DemoInfo{}, err
	}
	key.Status = model.StatusActive
	sec := make([]byte, 16)
	if _, err := io.ReadFull(rnd, sec); err != nil {
		return nil, DemoInfo{}, fmt.Errorf("state: random demo secret: %w", err)
	}
	var pins []string
	for i := 1; i <= 2; i++ {
		p := sha256.Sum256(fmt.Appendf(nil, demoPinLabel, i))
		pins = append(pins, base64.StdEncoding.EncodeToString(p[:]))
	}
	b := &model.Bundle{
		Accounts: []model.Account{{
			ID:    info.AccountID,
			Token: model.TokenPolicy{Annotate: true},
			Keys:  []model.Key{key},
			Secrets: []model.Secret{{
				Name:  info.SecretName,
				Value: secret.FromString("demo-" + hex.EncodeToString(sec)),
				Apps:  []string{info.AppID},
			}},
			Pins: map[string][]string{info.PinHost: pins},
		}},
		Apps: []model.App{{
			ID:       info.AppID,
			Account:  info.AccountID,
			Platform: info.Platform,
			Signers:  []string{base64.RawURLEncoding.EncodeToString(info.Signer)},
			Versions: map[string]string{info.Version: base64.RawURLEncoding.EncodeToString(info.CodeDigest)},
		}},
	}
	return b, info, nil
}

// SeedDemo creates the deployment keys if missing and imports DemoBundle,
// unless the store already holds the demo account or app (then it only
// ensures the deployment keys). *seeded tells whether it imported the demo
// (when not nil).
func SeedDemo(seal Sealer, rnd io.Reader, seeded *bool) Mutation {
	return func(snap *store.Snapshot) (store.Changes, error) {
		info := Demo()
		_, hasAcc := snap.Get(AccountKey(info.AccountID))
		_, hasApp := snap.Get(AppKey(info.AppID))
		if seeded != nil {
			*seeded = !hasAcc && !hasApp
		}
		if hasAcc || hasApp {
			return EnsureDeployment(seal, rnd)(snap)
		}
		b, _, err := DemoBundle(rnd)
		if err != nil {
			return store.Changes{}, err
		}
		return Apply(snap, b, seal, rnd)
	}
}
