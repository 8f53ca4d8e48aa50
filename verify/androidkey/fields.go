package androidkey

import (
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"time"
)

// Bounds of the field policy (PROTOCOL.md §9), checked by Policy.Validate
// and by the bundle's validation.
const (
	// MaxPatchAgeDays is the largest android_max_patch_age_days (ten years).
	MaxPatchAgeDays = 3650
	// MaxOSVersion is the largest android_min_os_version: osVersion is
	// MMmmpp (160000 is Android 16), six digits.
	MaxOSVersion = 999999
	// MaxBootKeys is the most android_allowed_boot_keys one policy lists.
	MaxBootKeys = 64
)

// Validate checks the §9 members of a policy against their bounds: a
// patch age of 0 to MaxPatchAgeDays, a minimum OS version of 0 to
// MaxOSVersion, at most MaxBootKeys boot keys. An error wraps ErrPolicy.
func (p Policy) Validate() error {
	switch {
	case p.MaxPatchAgeDays < 0 || p.MaxPatchAgeDays > MaxPatchAgeDays:
		return fmt.Errorf("%w: patch age of %d days, want 0 to %d", ErrPolicy, p.MaxPatchAgeDays, MaxPatchAgeDays)
	case p.MinOSVersion < 0 || p.MinOSVersion > MaxOSVersion:
		return fmt.Errorf("%w: minimum OS version %d, want 0 to %d", ErrPolicy, p.MinOSVersion, MaxOSVersion)
	case len(p.AllowedBootKeys) > MaxBootKeys:
		return fmt.Errorf("%w: %d boot keys, at most %d", ErrPolicy, len(p.AllowedBootKeys), MaxBootKeys)
	case p.CheckVersionCode && p.VersionCode < 0:
		return fmt.Errorf("%w: negative version code %d", ErrPolicy, p.VersionCode)
	}
	return nil
}

// Attested is what a verified key description says about the device and the
// app beyond the checks of §7: what the §9 policy reads, and what a receipt
// records so that it can be checked again on each use. Zero values are
// absent authorizations (an osVersion or a patch level of 0 is read as
// absent, as Android writes 0 for "unknown").
type Attested struct {
	// OSVersion is osVersion [705] (MMmmpp: 160000 is 16.0.0).
	OSVersion int64
	// OSPatchLevel is osPatchLevel [706] (YYYYMM); VendorPatchLevel [718]
	// and BootPatchLevel [719] are YYYYMMDD. PatchDate reads them.
	OSPatchLevel     int64
	VendorPatchLevel int64
	BootPatchLevel   int64
	// BootState and DeviceLocked are the root of trust's.
	BootState    BootState
	DeviceLocked bool
	// BootKey identifies the key that verified the boot: the root of
	// trust's verifiedBootKey when it is 32 bytes (a SHA-256 of the key, as
	// KeyMint writes it), else the SHA-256 of its bytes (BootKeyID).
	BootKey [32]byte
	// VersionCode is the version of the package named app id in
	// attestationApplicationId (the app's versionCode), when HasVersionCode.
	VersionCode    int64
	HasVersionCode bool
}

// BootKeyID is the identifier of a verified boot key that
// android_allowed_boot_keys lists: the verifiedBootKey field as is when it
// is 32 bytes long (KeyMint and Keymaster 4 devices write SHA-256 of the
// boot key there), else SHA-256 of the field (older devices that wrote the
// key itself).
func BootKeyID(verifiedBootKey []byte) [32]byte {
	var id [32]byte
	if len(verifiedBootKey) == len(id) {
		copy(id[:], verifiedBootKey)
		return id
	}
	return sha256.Sum256(verifiedBootKey)
}

// PatchDate reads a patch level: YYYYMM (osPatchLevel) or YYYYMMDD
// (vendorPatchLevel and bootPatchLevel; some devices write YYYYMM there
// too, and a day of 00). The date is the first day of the month for YYYYMM
// and for day 00: a level is taken to be as old as it can be. ok is false
// for any other value (years outside 2000-9999, a month or day that does
// not exist).
func PatchDate(level int64) (time.Time, bool) {
	var y, m, d int64
	switch {
	case level >= 200001 && level <= 999912:
		y, m, d = level/100, level%100, 1
	case level >= 20000101 && level <= 99991231:
		y, m, d = level/10000, level/100%100, level%100
		if d == 0 {
			d = 1
		}
	default:
		return time.Time{}, false
	}
	if m < 1 || m > 12 {
		return time.Time{}, false
	}
	t := time.Date(int(y), time.Month(m), int(d), 0, 0, 0, 0, time.UTC)
	if t.Day() != int(d) {
		return time.Time{}, false // February 30th
	}
	return t, true
}

// CheckFields checks the §9 policy on what was attested, at now: the patch
// levels against MaxPatchAgeDays (the OS patch level must be present; the
// vendor and boot patch levels only when present), the OS version against
// MinOSVersion, and the version code against VersionCode. It does not check
// the boot state (Verify does, with AllowedBootKeys). Verify calls it on
// evidence; the attest core calls it again on each use of a receipt, with
// what the receipt recorded. An error wraps ErrPatchLevel, ErrOSVersion or
// ErrVersionCode.
func CheckFields(a Attested, p Policy, now time.Time) error {
	if p.MaxPatchAgeDays > 0 {
		if err := checkPatch(a, p.MaxPatchAgeDays, now); err != nil {
			return err
		}
	}
	if p.MinOSVersion > 0 && a.OSVersion < p.MinOSVersion {
		if a.OSVersion == 0 {
			return fmt.Errorf("%w: no osVersion attested, policy wants %d", ErrOSVersion, p.MinOSVersion)
		}
		return fmt.Errorf("%w: osVersion %d below %d", ErrOSVersion, a.OSVersion, p.MinOSVersion)
	}
	if p.CheckVersionCode && (!a.HasVersionCode || a.VersionCode != p.VersionCode) {
		if !a.HasVersionCode {
			return fmt.Errorf("%w: no version code attested", ErrVersionCode)
		}
		return fmt.Errorf("%w: attested version code %d, registered %d", ErrVersionCode, a.VersionCode, p.VersionCode)
	}
	return nil
}

func checkPatch(a Attested, days int, now time.Time) error {
	oldest := now.Add(-time.Duration(days) * 24 * time.Hour)
	for _, l := range []struct {
		name     string
		v        int64
		required bool
	}{
		{"osPatchLevel", a.OSPatchLevel, true},
		{"vendorPatchLevel", a.VendorPatchLevel, false},
		{"bootPatchLevel", a.BootPatchLevel, false},
	} {
		if l.v == 0 {
			if l.required {
				return fmt.Errorf("%w: no %s attested", ErrPatchLevel, l.name)
			}
			continue
		}
		d, ok := PatchDate(l.v)
		if !ok {
			return fmt.Errorf("%w: %s %d is not a patch level", ErrPatchLevel, l.name, l.v)
		}
		if d.Before(oldest) {
			return fmt.Errorf("%w: %s %d is older than %d days", ErrPatchLevel, l.name, l.v, days)
		}
	}
	return nil
}

// bootKeyAllowed reports, in constant time over the list, whether id is one
// of keys.
func bootKeyAllowed(id [32]byte, keys [][32]byte) bool {
	found := 0
	for i := range keys {
		found |= subtle.ConstantTimeCompare(id[:], keys[i][:])
	}
	return found == 1
}

// BootAllowed reports whether a root of trust passes the policy: never a
// failed boot; with AllowUnlockedBootloader, any other; else a locked device
// whose boot is verified, or self-signed by a key AllowedBootKeys lists (a
// fleet on an alternative OS). An error wraps ErrBootKey for a locked,
// self-signed boot by a key the policy's non-empty list does not hold, else
// ErrBootState. The receipt check applies the same rule to what a receipt
// recorded.
func BootAllowed(state BootState, locked bool, bootKey [32]byte, p Policy) error {
	switch {
	case state == BootFailed:
		return fmt.Errorf("%w: verified boot state %s", ErrBootState, state)
	case state > BootFailed:
		return fmt.Errorf("%w: verified boot state %d", ErrBootState, state)
	case p.AllowUnlockedBootloader:
		return nil
	case !locked:
		return fmt.Errorf("%w: device not locked", ErrBootState)
	case state == BootVerified:
		return nil
	case state == BootSelfSigned && bootKeyAllowed(bootKey, p.AllowedBootKeys):
		return nil
	case state == BootSelfSigned && len(p.AllowedBootKeys) > 0:
		return fmt.Errorf("%w: self-signed boot with a key the policy does not list", ErrBootKey)
	}
	return fmt.Errorf("%w: verified boot state %s", ErrBootState, state)
}

// attested collects the §9 fields of a key description whose root of trust
// (rot) was found, for the package named appID: from hardwareEnforced, or
// softwareEnforced for a key attested in software (as the root of trust).
func attested(kd *KeyDescription, rot *RootOfTrust, appID string) Attested {
	al := &kd.HardwareEnforced
	if kd.AttestationSecurityLevel == LevelSoftware {
		al = &kd.SoftwareEnforced
	}
	a := Attested{
		OSVersion:        deref(al.OSVersion),
		OSPatchLevel:     deref(al.OSPatchLevel),
		VendorPatchLevel: deref(al.VendorPatchLevel),
		BootPatchLevel:   deref(al.BootPatchLevel),
		BootState:        rot.VerifiedBootState,
		DeviceLocked:     rot.DeviceLocked,
		BootKey:          BootKeyID(rot.VerifiedBootKey),
	}
	// The version: hardwareEnforced's attestationApplicationId when there
	// is one, else softwareEnforced's (where Android puts it).
	for _, id := range []*AttestationApplicationID{kd.HardwareEnforced.AttestationApplicationID, kd.SoftwareEnforced.AttestationApplicationID} {
		if id == nil {
			continue
		}
		for _, pkg := range id.Packages {
			if pkg.Name == appID {
				a.VersionCode, a.HasVersionCode = pkg.Version, true
				return a
			}
		}
	}
	return a
}

func deref(p *int64) int64 {
	if p == nil {
		return 0
	}
	return *p
}
