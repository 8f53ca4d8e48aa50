package receipt

import "errors"

// Sentinel errors. Every error of this package wraps exactly one of them.
// ErrExpired is the one the core answers with platform_attestation_expired;
// every other is platform_attestation_invalid, with Reason after it in arc.
var (
	// ErrMalformed (receipt_malformed): the string is not a receipt of this
	// format, is too long, or its body does not decode.
	ErrMalformed = errors.New("receipt: malformed")
	// ErrUnknownKey (receipt_unknown_key): its key id is not in the keyring
	// (another deployment's, or a key since retired).
	ErrUnknownKey = errors.New("receipt: unknown key id")
	// ErrBadMAC (receipt_bad_mac): the MAC does not verify (tampered, or
	// made with another key of the same id).
	ErrBadMAC = errors.New("receipt: bad MAC")
	// ErrExpired (receipt_expired): the receipt's expiry has passed.
	ErrExpired = errors.New("receipt: expired")
	// ErrBinding (receipt_binding): it names another app or device key.
	ErrBinding = errors.New("receipt: issued for another app or device")
	// ErrPlatform (receipt_platform): its format does not belong to the
	// app's platform (an android-key receipt for an ios app), PROTOCOL.md
	// §7 1.1.
	ErrPlatform = errors.New("receipt: format of another platform")
	// ErrPolicy (receipt_policy): what it records no longer meets the
	// app's policy, or the policy is invalid.
	ErrPolicy = errors.New("receipt: does not meet the policy")
	// ErrBootKey (android_boot_key, PROTOCOL.md §9): an android-key
	// receipt of a locked device whose boot was self-signed, and the app's
	// policy lists android_allowed_boot_keys without the key the receipt
	// recorded (or it recorded none). Its reason is the one fresh evidence
	// gets (androidkey.ReasonBootKey), as for the other §9 policy members.
	ErrBootKey = errors.New("receipt: boot key not listed")
	// ErrKey: a keyring key is invalid (NewKeyring), or a receipt to issue
	// lacks a field (Issue).
	ErrKey = errors.New("receipt: invalid key or receipt")

	// errBody is the body decoder's own error; Check wraps the failure in
	// ErrMalformed.
	errBody = errors.New("bad body")
)

// Reason gives a short name for an error of this package, for arc:
// receipt_malformed, receipt_unknown_key, receipt_bad_mac, receipt_expired,
// receipt_binding, receipt_platform, receipt_policy, android_boot_key
// (ErrBootKey, named as §9 names it for evidence), receipt_invalid
// (anything else), or "" for nil.
func Reason(err error) string {
	switch {
	case err == nil:
		return ""
	case errors.Is(err, ErrMalformed):
		return "receipt_malformed"
	case errors.Is(err, ErrUnknownKey):
		return "receipt_unknown_key"
	case errors.Is(err, ErrBadMAC):
		return "receipt_bad_mac"
	case errors.Is(err, ErrExpired):
		return "receipt_expired"
	case errors.Is(err, ErrBinding):
		return "receipt_binding"
	case errors.Is(err, ErrPlatform):
		return "receipt_platform"
	case errors.Is(err, ErrPolicy):
		return "receipt_policy"
	case errors.Is(err, ErrBootKey):
		return "android_boot_key"
	}
	return "receipt_invalid"
}
