package androidkey

import "fmt"

// SecurityLevel is where a key lives. The zero value, LevelUnspecified,
// means "the default" in a Policy (TEE) and never appears in a parsed key
// description. Levels are ordered: Software < TEE < StrongBox.
type SecurityLevel uint8

// Security levels; the key description's ENUMERATED value v is level v+1.
const (
	LevelUnspecified SecurityLevel = iota
	LevelSoftware
	LevelTEE
	LevelStrongBox
)

// String gives the policy name: "software", "tee", "strongbox"
// (and "unspecified" for the zero value).
func (l SecurityLevel) String() string {
	switch l {
	case LevelSoftware:
		return "software"
	case LevelTEE:
		return "tee"
	case LevelStrongBox:
		return "strongbox"
	case LevelUnspecified:
		return "unspecified"
	}
	return fmt.Sprintf("SecurityLevel(%d)", uint8(l))
}

// ParseSecurityLevel reads a policy's android_min_security: "software",
// "tee" or "strongbox"; the empty string is the default, "tee".
func ParseSecurityLevel(s string) (SecurityLevel, error) {
	switch s {
	case "software":
		return LevelSoftware, nil
	case "tee", "":
		return LevelTEE, nil
	case "strongbox":
		return LevelStrongBox, nil
	}
	return LevelUnspecified, fmt.Errorf("%w: security level %q", ErrPolicy, s)
}

// levelFromASN1 maps the key description's SecurityLevel ENUMERATED
// (Software 0, TrustedEnvironment 1, StrongBox 2).
func levelFromASN1(v int64) (SecurityLevel, bool) {
	if v < 0 || v > 2 {
		return LevelUnspecified, false
	}
	return SecurityLevel(v + 1), true
}

// BootState is the root of trust's verifiedBootState, with the key
// description's ENUMERATED values.
type BootState uint8

// Verified boot states.
const (
	BootVerified   BootState = 0 // green: locked, the OEM's key
	BootSelfSigned BootState = 1 // yellow: locked, a user-installed key
	BootUnverified BootState = 2 // orange: unlocked bootloader
	BootFailed     BootState = 3 // red: verification failed
)

// String gives "verified", "self_signed", "unverified" or "failed".
func (s BootState) String() string {
	switch s {
	case BootVerified:
		return "verified"
	case BootSelfSigned:
		return "self_signed"
	case BootUnverified:
		return "unverified"
	case BootFailed:
		return "failed"
	}
	return fmt.Sprintf("BootState(%d)", uint8(s))
}
