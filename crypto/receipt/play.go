package receipt

import "fmt"

// PlayVerdicts is what a play-integrity receipt records of the verdict
// (PROTOCOL.md §10): the device labels, app recognition, licensing and
// Play Protect, the fields of the play_* policy.
type PlayVerdicts struct {
	// Device recognition labels: MEETS_BASIC_INTEGRITY,
	// MEETS_DEVICE_INTEGRITY, MEETS_STRONG_INTEGRITY.
	Basic, Device, Strong bool
	// Recognized: appRecognitionVerdict PLAY_RECOGNIZED.
	Recognized bool
	// Licensed: appLicensingVerdict LICENSED.
	Licensed bool
	// PlayProtect: playProtectVerdict NO_ISSUES.
	PlayProtect bool
}

// flags are the verdicts as bits 1-6 of the body's flags byte.
func (v PlayVerdicts) flags() byte {
	var f byte
	for i, b := range [...]bool{v.Basic, v.Device, v.Strong, v.Recognized, v.Licensed, v.PlayProtect} {
		if b {
			f |= 2 << i
		}
	}
	return f
}

func playFromFlags(f byte) PlayVerdicts {
	bit := func(i int) bool { return f&(2<<i) != 0 }
	return PlayVerdicts{Basic: bit(0), Device: bit(1), Strong: bit(2), Recognized: bit(3), Licensed: bit(4), PlayProtect: bit(5)}
}

// playMeets checks a play-integrity receipt against the play_* policy as
// verify/playintegrity checks a verdict: PLAY_RECOGNIZED unless
// play_allow_unrecognized; the label of play_min_device ("basic",
// "device" (default) or "strong") among the labels; LICENSED when
// play_require_licensed; NO_ISSUES when play_require_play_protect.
func playMeets(v PlayVerdicts, p Policy) error {
	var has bool
	switch p.PlayMinDevice {
	case "basic":
		has = v.Basic
	case "", "device":
		has = v.Device
	case "strong":
		has = v.Strong
	default:
		return fmt.Errorf("%w: play_min_device %q", ErrPolicy, p.PlayMinDevice)
	}
	switch {
	case !v.Recognized && !p.PlayAllowUnrecognized:
		return fmt.Errorf("%w: app not PLAY_RECOGNIZED", ErrPolicy)
	case !has:
		return fmt.Errorf("%w: device labels below play_min_device %q", ErrPolicy, p.PlayMinDevice)
	case p.PlayRequireLicensed && !v.Licensed:
		return fmt.Errorf("%w: not LICENSED", ErrPolicy)
	case p.PlayRequirePlayProtect && !v.PlayProtect:
		return fmt.Errorf("%w: Play Protect not NO_ISSUES", ErrPolicy)
	}
	return nil
}
