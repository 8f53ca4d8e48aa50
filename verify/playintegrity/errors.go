package playintegrity

import "errors"

// Format is the platform_attestation format of a Play Integrity token.
const Format = "play-integrity"

// Sentinel errors. Every error of Verify wraps exactly one of them; Reason
// names it for arc, after platform_attestation_invalid.
var (
	// ErrMalformed (play_malformed): the token or its payload is not what
	// Play sends: too long, not a compact JWE of five parts of the right
	// sizes, a header outside the allow-list (another algorithm, zip,
	// crit, an unknown member), a plaintext that is not a compact ES256
	// JWS, or a payload that is not a JSON object of §10's shape.
	ErrMalformed = errors.New("playintegrity: malformed token")
	// ErrKeys (play_keys): the token does not decrypt with the app's
	// decryption key(s), or its signature does not verify with the
	// verification key of the pair that decrypted it: a forged token, one
	// made for another app, or keys rotated in Play Console and not here.
	ErrKeys = errors.New("playintegrity: not encrypted and signed with the app's keys")
	// ErrUnconfigured (play_unconfigured): the app has no play_integrity
	// keys.
	ErrUnconfigured = errors.New("playintegrity: the app has no Play Integrity keys")
	// ErrNonce (play_nonce): requestDetails.nonce is absent or is not
	// b64u(SHA-256(attestd nonce ‖ device key as SPKI DER)).
	ErrNonce = errors.New("playintegrity: nonce does not bind this request")
	// ErrStale (play_stale): requestDetails.timestampMillis is older than
	// the nonce lifetime, or more than MaxAhead in the future.
	ErrStale = errors.New("playintegrity: token too old or from the future")
	// ErrApp (play_app): the package names are not the app id, the
	// certificate digests do not hold app.signer, or the app is not
	// PLAY_RECOGNIZED where the policy wants it.
	ErrApp = errors.New("playintegrity: app integrity does not match")
	// ErrDevice (play_device): the device labels do not hold the one of
	// play_min_device.
	ErrDevice = errors.New("playintegrity: device integrity below the policy")
	// ErrUnlicensed (play_unlicensed): the policy requires LICENSED.
	ErrUnlicensed = errors.New("playintegrity: app not licensed")
	// ErrPlayProtect (play_protect): the policy requires Play Protect's
	// NO_ISSUES.
	ErrPlayProtect = errors.New("playintegrity: Play Protect verdict not NO_ISSUES")
	// ErrKey: a key given to ParseDecryptionKey or ParseVerificationKey
	// does not parse, or a policy value is unknown (ParseLevel).
	ErrKey = errors.New("playintegrity: invalid key")
)

// Reasons for arc (PROTOCOL.md §10), after platform_attestation_invalid.
const (
	ReasonMalformed    = "play_malformed"
	ReasonKeys         = "play_keys"
	ReasonUnconfigured = "play_unconfigured"
	ReasonNonce        = "play_nonce"
	ReasonStale        = "play_stale"
	ReasonApp          = "play_app"
	ReasonDevice       = "play_device"
	ReasonUnlicensed   = "play_unlicensed"
	ReasonPlayProtect  = "play_protect"
	// ReasonInvalid is any other error (none of this package's).
	ReasonInvalid = "play_invalid"
)

// Reasons lists every reason of this package, for fixed metric tables.
var Reasons = [...]string{
	ReasonMalformed, ReasonKeys, ReasonUnconfigured, ReasonNonce, ReasonStale,
	ReasonApp, ReasonDevice, ReasonUnlicensed, ReasonPlayProtect,
}

// Reason names an error of this package, ReasonInvalid for any other
// error and "" for nil.
func Reason(err error) string {
	switch {
	case err == nil:
		return ""
	case errors.Is(err, ErrMalformed):
		return ReasonMalformed
	case errors.Is(err, ErrKeys):
		return ReasonKeys
	case errors.Is(err, ErrUnconfigured):
		return ReasonUnconfigured
	case errors.Is(err, ErrNonce):
		return ReasonNonce
	case errors.Is(err, ErrStale):
		return ReasonStale
	case errors.Is(err, ErrApp):
		return ReasonApp
	case errors.Is(err, ErrDevice):
		return ReasonDevice
	case errors.Is(err, ErrUnlicensed):
		return ReasonUnlicensed
	case errors.Is(err, ErrPlayProtect):
		return ReasonPlayProtect
	}
	return ReasonInvalid
}
