package androidkey

import (
	"errors"

	"github.com/attestd/attestd/verify/x509chain"
)

// Sentinel errors. Every error Verify returns wraps exactly one of them,
// and Reason maps each to the short name the core appends to arc after
// platform_attestation_invalid.
var (
	// ErrMalformed (android_malformed): the chain or key description does
	// not decode, is out of bounds, or the leaf has no key description.
	ErrMalformed = errors.New("androidkey: malformed evidence")
	// ErrChain (android_chain): from the anchor towards the leaf, a
	// certificate is not signed by the one after it or that one says it is
	// not a CA; a certificate's key or signature algorithm is outside §7's
	// allow-list (x509chain.ErrKey, refused before any signature is
	// checked); or a certificate other than the leaf carries a key
	// description. The x509chain sentinel stays in the wrapped chain.
	ErrChain = errors.New("androidkey: broken certificate chain")
	// ErrRoot (android_root): the last certificate neither has a configured
	// root's key nor is signed by one.
	ErrRoot = errors.New("androidkey: chain does not end at a configured root")
	// ErrExpiredCert (android_cert_expired): a certificate between the
	// anchor and the leaf is outside its validity at the verification time
	// (the leaf's and the roots' dates are not checked, §7 1.1).
	ErrExpiredCert = errors.New("androidkey: certificate outside its validity")
	// ErrKeyMismatch (android_key_mismatch): the leaf key is not the device key.
	ErrKeyMismatch = errors.New("androidkey: leaf key is not the device key")
	// ErrChallenge (android_challenge): attestationChallenge is not SHA-256(nonce).
	ErrChallenge = errors.New("androidkey: attestation challenge mismatch")
	// ErrPackage (android_package): no attestationApplicationId, or no
	// package in it named the app id.
	ErrPackage = errors.New("androidkey: package name mismatch")
	// ErrSigner (android_signer): no signature digest equals the app's signer.
	ErrSigner = errors.New("androidkey: signer digest mismatch")
	// ErrSecurityLevel (android_security_level): the attestation or KeyMint
	// security level is below the policy's minimum.
	ErrSecurityLevel = errors.New("androidkey: security level below policy")
	// ErrBootState (android_boot_state): no root of trust, or verified boot
	// state or device lock that the policy does not allow.
	ErrBootState = errors.New("androidkey: boot state not allowed")
	// ErrBootKey (android_boot_key, §9): a locked device whose boot is
	// self-signed, for a policy that lists android_allowed_boot_keys, by a
	// key the list does not hold. Without a list a self-signed boot is
	// ErrBootState.
	ErrBootKey = errors.New("androidkey: boot key not listed")
	// ErrRevoked (android_revoked): a certificate of the chain is in the
	// status list.
	ErrRevoked = errors.New("androidkey: certificate revoked or suspended")
	// ErrPatchLevel (android_patch_level, §9): the attested OS patch level
	// is absent, unreadable or older than the policy's
	// android_max_patch_age_days, or so is a vendor or boot patch level
	// that is present.
	ErrPatchLevel = errors.New("androidkey: patch level too old")
	// ErrOSVersion (android_os_version, §9): the attested osVersion is
	// absent or below the policy's android_min_os_version.
	ErrOSVersion = errors.New("androidkey: OS version below policy")
	// ErrVersionCode (android_version_code, §9): the app has version_codes
	// and the attested package's version is not the one registered for
	// the request's app.version.
	ErrVersionCode = errors.New("androidkey: version code mismatch")
	// ErrPolicy (android_policy): the policy itself is invalid (for example
	// an unknown minimum security level).
	ErrPolicy = errors.New("androidkey: invalid policy")

	// errDER is the DER reader's own error; ParseKeyDescription wraps it
	// in ErrMalformed.
	errDER = errors.New("bad DER")
)

// Reason names returned by Reason.
const (
	ReasonMalformed     = "android_malformed"
	ReasonChain         = "android_chain"
	ReasonRoot          = "android_root"
	ReasonExpiredCert   = "android_cert_expired"
	ReasonKeyMismatch   = "android_key_mismatch"
	ReasonChallenge     = "android_challenge"
	ReasonPackage       = "android_package"
	ReasonSigner        = "android_signer"
	ReasonSecurityLevel = "android_security_level"
	ReasonBootState     = "android_boot_state"
	ReasonBootKey       = "android_boot_key"
	ReasonRevoked       = "android_revoked"
	ReasonPatchLevel    = "android_patch_level"
	ReasonOSVersion     = "android_os_version"
	ReasonVersionCode   = "android_version_code"
	ReasonPolicy        = "android_policy"
	// ReasonStatusStale (android_status_stale, §9) is never returned by
	// this package, which has no clock for the status list: the attest
	// core names with it a refusal because the deployment's status list is
	// older than its maximum age and --android-status-fail is closed.
	ReasonStatusStale = "android_status_stale"
	// ReasonInvalid names an error that wraps none of this package's sentinels.
	ReasonInvalid = "android_invalid"
)

// Reason gives the short reason name of an error returned by Verify: one of
// the Reason constants, or "" for nil.
func Reason(err error) string {
	switch {
	case err == nil:
		return ""
	case errors.Is(err, ErrMalformed):
		return ReasonMalformed
	case errors.Is(err, ErrChain):
		return ReasonChain
	case errors.Is(err, ErrRoot):
		return ReasonRoot
	case errors.Is(err, ErrExpiredCert):
		return ReasonExpiredCert
	case errors.Is(err, ErrKeyMismatch):
		return ReasonKeyMismatch
	case errors.Is(err, ErrChallenge):
		return ReasonChallenge
	case errors.Is(err, ErrPackage):
		return ReasonPackage
	case errors.Is(err, ErrSigner):
		return ReasonSigner
	case errors.Is(err, ErrSecurityLevel):
		return ReasonSecurityLevel
	case errors.Is(err, ErrBootState):
		return ReasonBootState
	case errors.Is(err, ErrBootKey):
		return ReasonBootKey
	case errors.Is(err, ErrRevoked):
		return ReasonRevoked
	case errors.Is(err, ErrPatchLevel):
		return ReasonPatchLevel
	case errors.Is(err, ErrOSVersion):
		return ReasonOSVersion
	case errors.Is(err, ErrVersionCode):
		return ReasonVersionCode
	case errors.Is(err, ErrPolicy):
		return ReasonPolicy
	}
	return ReasonInvalid
}

// chainError maps an x509chain error to this package's sentinel, keeping
// both in the chain of wrapped errors.
func chainError(err error) error {
	return x509chain.Sentinels{Signature: ErrChain, Key: ErrChain, Root: ErrRoot, Validity: ErrExpiredCert, Malformed: ErrMalformed}.Classify(err)
}
