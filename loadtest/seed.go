package loadtest

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
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

// Signer is the app's signing certificate digest; CodeDigest its code
// digest for Version; WrongDigest a digest that is neither.
var (
	signerDigest = labelDigest("signer")
	codeDigest   = labelDigest("code")
	wrongDigest  = labelDigest("wrong")
)

// Bundle is the store bundle of PROTOCOL.md §8 that registers the load
// test's account and app; import it with `attestctl --store URL import`.
type bundle struct {
	Accounts []bundleAccount `json:"accounts"`
	Apps     []bundleApp     `json:"apps"`
}

type bundleAccount struct {
	ID    string `json:"id"`
	Token struct {
		TTL      int  `json:"ttl"`
		Annotate bool `json:"annotate"`
	} `json:"token"`
	Keys []bundleKey `json:"keys"`
}

type bundleKey struct {
	KID    string `json:"kid"`
	Alg    string `json:"alg"`
	Secret string `json:"secret"`
	Status string `json:"status"`
}

type bundleApp struct {
	ID       string            `json:"id"`
	Account  string            `json:"account"`
	Platform string            `json:"platform"`
	Signers  []string          `json:"signers"`
	Versions map[string]string `json:"versions"`
	Policy   map[string]any    `json:"policy"`
}

// WriteBundle writes the bundle to w, with a fresh HS256 key from rnd (nil:
// crypto/rand).
func WriteBundle(w io.Writer, rnd io.Reader) error {
	if rnd == nil {
		rnd = rand.Reader
	}
	key := make([]byte, 32)
	if _, err := io.ReadFull(rnd, key); err != nil {
		return fmt.Errorf("loadtest: token key: %w", err)
	}
	acct := bundleAccount{ID: Account, Keys: []bundleKey{{KID: "load1", Alg: "HS256", Secret: base64.StdEncoding.EncodeToString(key), Status: "active"}}}
	acct.Token.TTL = 300
	acct.Token.Annotate = true
	b := bundle{
		Accounts: []bundleAccount{acct},
		Apps: []bundleApp{{
			ID: App, Account: Account, Platform: Platform,
			Signers:  []string{b64u(signerDigest[:])},
			Versions: map[string]string{Version: b64u(codeDigest[:])},
			Policy:   map[string]any{},
		}},
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(b)
}

func b64u(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }
