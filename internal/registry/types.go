package registry

import (
	"github.com/attestd/attestd/crypto/secret"
	"github.com/attestd/attestd/crypto/token"
	"github.com/attestd/attestd/internal/model"
	"github.com/attestd/attestd/verify/playintegrity"
)

// App is an app record compiled for the verdict: digests decoded, policy
// defaults applied. It is immutable and shared by concurrent requests.
type App struct {
	ID       string
	Account  string
	Platform string
	TeamID   string
	Signers  [][32]byte
	Versions map[string][32]byte
	// VersionCodes is the app's version_codes (nil: not checked, §9).
	VersionCodes map[string]int64
	// BootKeys is policy.android_allowed_boot_keys decoded (§9).
	BootKeys [][32]byte
	Policy   model.Policy
	// Monitor: the policy's enforcement is monitor (PROTOCOL.md §11).
	Monitor bool
	// Play is the app's Play Integrity keys, parsed (nil: none).
	Play *playintegrity.KeySet
}

// DebugToken is a stored debug token (PROTOCOL.md §11) as the core reads
// it: what it is for, never the token.
type DebugToken struct {
	Name      string
	Account   string
	App       string
	ExpiresAt int64 // Unix seconds; live while now < ExpiresAt
	Secrets   bool  // its verdicts may release runtime secrets
}

// Account is an account compiled for minting, sealing and proxying: keys
// parsed and self-tested, secrets opened, pins and JWKS pre-encoded. It is
// immutable and shared by concurrent requests.
type Account struct {
	ID       string
	TTL      int64
	Annotate bool
	// Signer signs passing verdicts; Decoy has the same kid and alg and a
	// key nobody else holds, for failed ones.
	Signer *token.Signer
	Decoy  *token.Signer
	// Keys verifies tokens: the active key and those with status verify.
	Keys *token.KeySet
	// JWKS is the encoded JSON Web Key Set of the asymmetric verify keys.
	JWKS []byte
	// PinsJSON is the encoded `pins` object of PROTOCOL.md §5 ("{}" if none).
	PinsJSON []byte
	Pins     map[string][]string
	// secrets by app id: the JSON object plaintext of PROTOCOL.md §4.
	secrets map[string]secret.Value
	APIs    map[string]*API
}

// SecretsFor returns the JSON object of the secrets assigned to app ("{}"
// when none are).
func (a *Account) SecretsFor(app string) secret.Value {
	if v, ok := a.secrets[app]; ok {
		return v
	}
	return secret.FromString("{}")
}

// API is a proxied upstream (PROTOCOL.md §6) with its secret opened.
type API struct {
	Name           string
	Account        string
	Upstream       string
	RequireBinding bool
	// RequireSignature: requests need a token with cnf and a request
	// signature by its key (PROTOCOL.md §12).
	RequireSignature bool
	Header           string
	Query            string
	Secret           secret.Value
}
