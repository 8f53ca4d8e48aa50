package playintegrity

import "fmt"

// Labels is a set of device recognition labels (deviceRecognitionVerdict).
type Labels uint8

// The labels §10 reads. Others (MEETS_VIRTUAL_INTEGRITY) are not recorded.
const (
	LabelBasic  Labels = 1 << iota // MEETS_BASIC_INTEGRITY
	LabelDevice                    // MEETS_DEVICE_INTEGRITY
	LabelStrong                    // MEETS_STRONG_INTEGRITY
	// AllLabels is every label above.
	AllLabels = LabelBasic | LabelDevice | LabelStrong
)

// Values of the verdict that §10 compares with.
const (
	labelBasic      = "MEETS_BASIC_INTEGRITY"
	labelDevice     = "MEETS_DEVICE_INTEGRITY"
	labelStrong     = "MEETS_STRONG_INTEGRITY"
	playRecognized  = "PLAY_RECOGNIZED"
	licensed        = "LICENSED"
	playProtectGood = "NO_ISSUES"
)

// Levels of play_min_device.
const (
	LevelBasic  = "basic"
	LevelDevice = "device" // the default
	LevelStrong = "strong"
)

// LevelLabel is the label a device must hold for play_min_device level
// ("" is LevelDevice); false for an unknown level.
func LevelLabel(level string) (Labels, bool) {
	switch level {
	case LevelBasic:
		return LabelBasic, true
	case "", LevelDevice:
		return LabelDevice, true
	case LevelStrong:
		return LabelStrong, true
	}
	return 0, false
}

// Verdicts is what a verified token said, as far as the policy reads it: a
// receipt records it and it is checked again on each use (Meets).
type Verdicts struct {
	Labels Labels
	// Recognized: appRecognitionVerdict PLAY_RECOGNIZED.
	Recognized bool
	// Licensed: accountDetails.appLicensingVerdict LICENSED.
	Licensed bool
	// PlayProtect: environmentDetails.playProtectVerdict NO_ISSUES.
	PlayProtect bool
}

// Verdicts reads the payload's verdicts.
func (pl *Payload) Verdicts() Verdicts {
	v := Verdicts{
		Recognized:  pl.AppIntegrity.AppRecognitionVerdict == playRecognized,
		Licensed:    pl.AccountDetails.AppLicensingVerdict == licensed,
		PlayProtect: pl.EnvironmentDetails.PlayProtectVerdict == playProtectGood,
	}
	for _, l := range pl.DeviceIntegrity.DeviceRecognitionVerdict {
		switch l {
		case labelBasic:
			v.Labels |= LabelBasic
		case labelDevice:
			v.Labels |= LabelDevice
		case labelStrong:
			v.Labels |= LabelStrong
		}
	}
	return v
}

// Policy holds the app's play_* policy fields (PROTOCOL.md §10). The zero
// value is the default: PLAY_RECOGNIZED and MEETS_DEVICE_INTEGRITY
// required, licensing and Play Protect not.
type Policy struct {
	// MinDevice is play_min_device: "basic", "device" or "strong"; "" is
	// "device".
	MinDevice          string
	RequireLicensed    bool
	AllowUnrecognized  bool
	RequirePlayProtect bool
}

// Meets checks v against p: PLAY_RECOGNIZED unless AllowUnrecognized
// (ErrApp), the label of MinDevice among the labels (ErrDevice: a device
// is held to the label of the level asked for, as §10 words it; Play
// gives a device that meets a level the labels of the levels below too),
// LICENSED when RequireLicensed (ErrUnlicensed), NO_ISSUES when
// RequirePlayProtect (ErrPlayProtect). An unknown MinDevice wraps ErrKey.
func (v Verdicts) Meets(p Policy) error {
	want, ok := LevelLabel(p.MinDevice)
	if !ok {
		return fmt.Errorf("%w: play_min_device %q", ErrKey, p.MinDevice)
	}
	switch {
	case !v.Recognized && !p.AllowUnrecognized:
		return fmt.Errorf("%w: app not PLAY_RECOGNIZED", ErrApp)
	case v.Labels&want == 0:
		return fmt.Errorf("%w: device labels %s do not hold %s", ErrDevice, v.Labels, want)
	case p.RequireLicensed && !v.Licensed:
		return fmt.Errorf("%w: not LICENSED", ErrUnlicensed)
	case p.RequirePlayProtect && !v.PlayProtect:
		return fmt.Errorf("%w: not NO_ISSUES", ErrPlayProtect)
	}
	return nil
}

// String lists the labels, e.g. "[MEETS_BASIC_INTEGRITY MEETS_DEVICE_INTEGRITY]".
func (l Labels) String() string {
	var names []string
	for _, x := range []struct {
		bit  Labels
		name string
	}{{LabelBasic, labelBasic}, {LabelDevice, labelDevice}, {LabelStrong, labelStrong}} {
		if l&x.bit != 0 {
			names = append(names, x.name)
		}
	}
	return fmt.Sprint(names)
}
