package receipt

import (
	"crypto/subtle"
	"fmt"
)

// Policy is the part of an app's policy (PROTOCOL.md §8) a receipt is
// checked against when it is used. The zero value is the strict default.
type Policy struct {
	// AndroidMinSecurity is "software", "tee" or "strongbox"; "" is "tee".
	AndroidMinSecurity        string
	AllowUnlockedBootloader   bool
	AllowAppAttestDevelopment bool
	// AndroidAllowedBootKeys (android_allowed_boot_keys, §9): a receipt of
	// a locked device whose boot was self-signed by one of these keys
	// passes as a verified one does.
	AndroidAllowedBootKeys [][32]byte
	// Play Integrity (§10): PlayMinDevice is "basic", "device" or
	// "strong"; "" is "device".
	PlayMinDevice          string
	PlayRequireLicensed    bool
	PlayAllowUnrecognized  bool
	PlayRequirePlayProtect bool
}

// MeetsPolicy checks what r records against the app's policy as it is now,
// as the verifiers would have at enrolment: an Android receipt's security
// level against android_min_security, its boot state and lock against
// allow_unlocked_bootloader and android_allowed_boot_keys (a self-signed
// boot passes with a listed key, which the receipt must have recorded); an
// App Attest receipt's environment against allow_appattest_development; a
// Play Integrity receipt's verdicts against the play_* fields. An error
// wraps ErrBootKey for a locked, self-signed boot when the policy lists
// boot keys and the receipt's is not among them (or it recorded none),
// else ErrPolicy.
func MeetsPolicy(r Receipt, p Policy) error {
	switch r.Format {
	case FormatAndroidKey:
		return androidMeets(r, p)
	case FormatPlayIntegrity:
		return playMeets(r.Play, p)
	case FormatAppleAppAttest:
		switch {
		case r.Environment == "production":
			return nil
		case r.Environment == "development" && p.AllowAppAttestDevelopment:
			return nil
		case r.Environment == "development":
			return fmt.Errorf("%w: development environment not allowed", ErrPolicy)
		}
		return fmt.Errorf("%w: environment %q", ErrPolicy, r.Environment)
	}
	return fmt.Errorf("%w: format %q", ErrPolicy, r.Format)
}

func androidMeets(r Receipt, p Policy) error {
	want := p.AndroidMinSecurity
	if want == "" {
		want = "tee"
	}
	wantRank, got := levelRank(want), levelRank(r.SecurityLevel)
	if wantRank == 0 {
		return fmt.Errorf("%w: android_min_security %q", ErrPolicy, want)
	}
	if got < wantRank {
		return fmt.Errorf("%w: security level %q below %q", ErrPolicy, r.SecurityLevel, want)
	}
	switch r.BootState {
	case "verified", "self_signed", "unverified":
	default:
		return fmt.Errorf("%w: boot state %q", ErrPolicy, r.BootState)
	}
	if p.AllowUnlockedBootloader || r.BootState == "verified" && r.DeviceLocked {
		return nil
	}
	if r.BootState == "self_signed" && r.DeviceLocked && len(p.AndroidAllowedBootKeys) > 0 {
		// A receipt that recorded no boot key (issued before receipts
		// did) cannot show its key is listed.
		if r.Android.HasBootKey && bootKeyListed(r.Android.BootKey, p.AndroidAllowedBootKeys) {
			return nil
		}
		return fmt.Errorf("%w: self-signed boot with a key the policy does not list", ErrBootKey)
	}
	return fmt.Errorf("%w: boot state %q, locked %v", ErrPolicy, r.BootState, r.DeviceLocked)
}

// bootKeyListed reports, in constant time over the list, whether k is one
// of keys.
func bootKeyListed(k [32]byte, keys [][32]byte) bool {
	found := 0
	for i := range keys {
		found |= subtle.ConstantTimeCompare(k[:], keys[i][:])
	}
	return found == 1
}

// levelRank orders security levels; 0 is unknown.
func levelRank(l string) int {
	switch l {
	case "software":
		return 1
	case "tee":
		return 2
	case "strongbox":
		return 3
	}
	return 0
}
