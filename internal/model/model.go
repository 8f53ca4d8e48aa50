package model

import "github.com/attestd/attestd/crypto/secret"

// Bundle is what `attestctl import` applies: every account, app or ban list
// it names replaces the stored one whole; what it does not name stays.
type Bundle struct {
	Accounts []Account `json:"accounts,omitempty"`
	Apps     []App     `json:"apps,omitempty"`
	// Bans is nil when the bundle does not name the ban list.
	Bans *Bans `json:"bans,omitempty"`
}

// Account owns apps, token keys, runtime secrets, pins and proxied APIs.
type Account struct {
	ID      string              `json:"id"`
	Token   TokenPolicy         `json:"token"`
	Keys    []Key               `json:"keys"`
	Secrets []Secret            `json:"secrets,omitempty"`
	Pins    map[string][]string `json:"pins,omitempty"`
	APIs    []API               `json:"apis,omitempty"`
}

// TokenPolicy is an account's token settings.
type TokenPolicy struct {
	// TTL is the token lifetime in seconds; 0 means DefaultTokenTTL.
	TTL int `json:"ttl,omitempty"`
	// Annotate adds the `arc` claim (failure reasons) to tokens.
	Annotate bool `json:"annotate,omitempty"`
}

// Key is one token-signing key of an account.
type Key struct {
	KID    string `json:"kid"`
	Alg    string `json:"alg"`
	Status string `json:"status"`
	// Secret is the HS256 key: b64 (standard, padded) of at least 32 bytes.
	Secret secret.Value `json:"secret,omitzero"`
	// PrivateKey is the ES256 or EdDSA key: b64 of PKCS#8 DER.
	PrivateKey secret.Value `json:"private_key,omitzero"`
}

// Secret is a runtime secret released to the listed apps.
type Secret struct {
	Name  string       `json:"name"`
	Value secret.Value `json:"value"`
	Apps  []string     `json:"apps,omitempty"`
}

// API is an upstream reached through the secrets proxy (PROTOCOL.md §6).
type API struct {
	Name           string `json:"name"`
	Upstream       string `json:"upstream"`
	RequireBinding bool   `json:"require_binding,omitempty"`
	// RequireSignature: every request must carry a token bound to the
	// device key (cnf) and be signed with that key (PROTOCOL.md §12).
	RequireSignature bool   `json:"require_signature,omitempty"`
	Inject           Inject `json:"inject"`
}

// Inject says where the proxy puts the API's secret: exactly one of Header
// and Query is set.
type Inject struct {
	Header string `json:"header,omitempty"`
	Query  string `json:"query,omitempty"`
	Secret string `json:"secret"`
}

// App is a registered app.
type App struct {
	ID       string            `json:"id"`
	Account  string            `json:"account"`
	Platform string            `json:"platform"`
	TeamID   string            `json:"team_id,omitempty"`
	Signers  []string          `json:"signers"`
	Versions map[string]string `json:"versions"`
	// VersionCodes (android apps, PROTOCOL.md §9) maps each version of
	// Versions to the versionCode its attested package must have; nil: the
	// version code is not checked.
	VersionCodes map[string]int64 `json:"version_codes,omitempty"`
	Policy       Policy           `json:"policy"`
	// PlayIntegrity holds the app's Play Integrity keys (PROTOCOL.md §10,
	// android apps only); nil when the app has none.
	PlayIntegrity *PlayIntegrity `json:"play_integrity,omitempty"`
}

// PlayKeys is one pair of Play Integrity response encryption keys, as the
// app's owner downloads them from Play Console. Both are sealed at rest
// and redacted in exports (the verification key is public, but travels
// with its pair).
type PlayKeys struct {
	// DecryptionKey: b64 of the 32-byte AES-256 key.
	DecryptionKey secret.Value `json:"decryption_key"`
	// VerificationKey: b64 of the SPKI DER of the EC P-256 key.
	VerificationKey secret.Value `json:"verification_key"`
}

// PlayIntegrity is an app's play_integrity member: the current pair and,
// during a rotation, the previous one, still accepted for the tokens Play
// made with it before the owner switched keys in Play Console.
type PlayIntegrity struct {
	PlayKeys
	Previous *PlayKeys `json:"previous,omitempty"`
}

// Policy is an app's attestation policy. The zero value is the strictest
// policy but for AndroidMinSecurity, which defaults to "tee".
type Policy struct {
	AllowRooted                bool   `json:"allow_rooted,omitempty"`
	AllowDebugger              bool   `json:"allow_debugger,omitempty"`
	AllowHooked                bool   `json:"allow_hooked,omitempty"`
	AllowEmulator              bool   `json:"allow_emulator,omitempty"`
	RequirePlatformAttestation bool   `json:"require_platform_attestation,omitempty"`
	AndroidMinSecurity         string `json:"android_min_security,omitempty"`
	AllowUnlockedBootloader    bool   `json:"allow_unlocked_bootloader,omitempty"`
	AllowAppattestDevelopment  bool   `json:"allow_appattest_development,omitempty"`
	// Enforcement is "enforce" (the default, also when empty) or "monitor"
	// (PROTOCOL.md §11: failed verdicts are signed with the account's real
	// key and marked mon, so that the owner sees what enforcing would
	// refuse before it does).
	Enforcement string `json:"enforcement,omitempty"`
	// PROTOCOL.md §9 (android apps; nil or empty: no check).
	// AndroidMaxPatchAgeDays: the attested OS patch level, and the vendor
	// and boot patch levels when present, are at most this many days old.
	AndroidMaxPatchAgeDays *int `json:"android_max_patch_age_days,omitempty"`
	// AndroidMinOSVersion: the lowest attested osVersion (160000 is
	// Android 16).
	AndroidMinOSVersion *int64 `json:"android_min_os_version,omitempty"`
	// AndroidAllowedBootKeys: b64 SHA-256 of verified boot keys; a locked
	// device whose boot is self-signed by one of them passes.
	AndroidAllowedBootKeys []string `json:"android_allowed_boot_keys,omitempty"`
	// Play Integrity (PROTOCOL.md §10): PlayMinDevice is "basic",
	// "device" (the default) or "strong".
	PlayMinDevice          string `json:"play_min_device,omitempty"`
	PlayRequireLicensed    bool   `json:"play_require_licensed,omitempty"`
	PlayAllowUnrecognized  bool   `json:"play_allow_unrecognized,omitempty"`
	PlayRequirePlayProtect bool   `json:"play_require_play_protect,omitempty"`
}

// Bans lists banned devices by `did` (PROTOCOL.md §3).
type Bans struct {
	Devices []string `json:"devices"`
}

// Names of enumerations, as they appear in bundles.
const (
	AlgHS256 = "HS256"
	AlgES256 = "ES256"
	AlgEdDSA = "EdDSA"

	StatusActive  = "active"
	StatusVerify  = "verify"
	StatusRetired = "retired"

	PlatformAndroid = "android"
	PlatformIOS     = "ios"

	EnforcementEnforce = "enforce"
	EnforcementMonitor = "monitor"

	SecuritySoftware  = "software"
	SecurityTEE       = "tee"
	SecurityStrongBox = "strongbox"

	PlayBasic  = "basic"
	PlayDevice = "device"
	PlayStrong = "strong"

	// DefaultTokenTTL is an account's token lifetime when its bundle gives none.
	DefaultTokenTTL = 300
	// MinTokenTTL and MaxTokenTTL bound an account's token lifetime.
	MinTokenTTL = 10
	MaxTokenTTL = 86400
	// MaxSecretBytes caps one runtime secret's value.
	MaxSecretBytes = 8 << 10
	// MaxIDLen caps account ids, app ids, kids, secret and API names.
	MaxIDLen = 128
)

// TTLSeconds is the account's token lifetime with the default applied.
func (t TokenPolicy) TTLSeconds() int {
	if t.TTL == 0 {
		return DefaultTokenTTL
	}
	return t.TTL
}

// MinSecurity is the policy's android_min_security with the default applied.
func (p Policy) MinSecurity() string {
	if p.AndroidMinSecurity == "" {
		return SecurityTEE
	}
	return p.AndroidMinSecurity
}

// Monitor reports whether the policy is in monitor mode (§11).
func (p Policy) Monitor() bool { return p.Enforcement == EnforcementMonitor }

// ActiveKey returns the account's active key, or false when it has none.
func (a *Account) ActiveKey() (Key, bool) {
	for _, k := range a.Keys {
		if k.Status == StatusActive {
			return k, true
		}
	}
	return Key{}, false
}
