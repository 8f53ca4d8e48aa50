package loadtest

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"io"

	"github.com/attestd/attestd/internal/model"
	"github.com/attestd/attestd/internal/state"
)

// The registry the load generator attests against. Its digests are fixed,
// so that the generator knows them without reading the bundle it wrote;
// only the account's token key is random.
const (
	// Account is the load test's account (HS256, annotated, so that the
	// generator reads the failure reasons of its verdicts from arc).
	Account = "attestload"
	// App is the registered app.
	App = "com.attestd.load"
	// Version is its registered version.
	Version = "1.0.0"
	// Platform is its platform.
	Platform = "android"
	// UnknownApp is an app id that is never registered (app_unknown).
	UnknownApp = "com.attestd.load.unregistered"
	// UnknownVersion is a version that is never registered.
	UnknownVersion = "0.0.0-unregistered"
)

func labelDigest(label string) [32]byte { return sha256.Sum256([]byte("attestload " + label)) }

// signerDigest is the app's signing certificate digest; codeDigest its code
// digest for Version; wrongDigest a digest that is neither.
var (
	signerDigest = labelDigest("signer")
	codeDigest   = labelDigest("code")
	wrongDigest  = labelDigest("wrong")
)

// Bundle is the store bundle of PROTOCOL.md §8 that registers the load
// test's account and app, with a fresh HS256 key from rnd (nil:
// crypto/rand).
func Bundle(rnd io.Reader) (*model.Bundle, error) {
	if rnd == nil {
		rnd = rand.Reader
	}
	key, err := state.GenerateKey(model.AlgHS256, "load1", rnd)
	if err != nil {
		return nil, fmt.Errorf("loadtest: token key: %w", err)
	}
	key.Status = model.StatusActive
	return &model.Bundle{
		Accounts: []model.Account{{ID: Account, Token: model.TokenPolicy{TTL: 300, Annotate: true}, Keys: []model.Key{key}}},
		Apps: []model.App{{
			ID: App, Account: Account, Platform: Platform,
			Signers:  []string{b64u(signerDigest[:])},
			Versions: map[string]string{Version: b64u(codeDigest[:])},
		}},
	}, nil
}

// WriteBundle writes Bundle(rnd) to w, its key revealed, for
// `attestctl --store URL import`.
func WriteBundle(w io.Writer, rnd io.Reader) error {
	b, err := Bundle(rnd)
	if err != nil {
		return err
	}
	out, err := state.MarshalRevealed(b)
	if err != nil {
		return err
	}
	_, err = w.Write(append(out, '\n'))
	return err
}

func b64u(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }
