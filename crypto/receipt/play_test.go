package receipt_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strings"
	"testing"

	"github.com/attestd/attestd/crypto/receipt"
)

func playSample(v receipt.PlayVerdicts) receipt.Receipt {
	r := sample()
	r.Format, r.SecurityLevel, r.BootState, r.DeviceLocked = receipt.FormatPlayIntegrity, "", "", false
	r.Play = v
	return r
}

// TestPlayVerdictsRoundTrip: every combination of the six verdicts a
// play-integrity receipt records survives the body.
func TestPlayVerdictsRoundTrip(t *testing.T) {
	k := ring(t, key("r1", 1))
	for bits := range 64 {
		b := func(i int) bool { return bits&(1<<i) != 0 }
		r := playSample(receipt.PlayVerdicts{Basic: b(0), Device: b(1), Strong: b(2), Recognized: b(3), Licensed: b(4), PlayProtect: b(5)})
		got, err := k.Check(issue(t, k, r), t0)
		want := r
		want.IssuedAt = t0
		if err != nil || got != want {
			t.Fatalf("bits %06b: %+v, %v", bits, got, err)
		}
	}
}

// TestReceiptWithUnknownFlagIsMalformed: a body with a flag bit this
// version does not know (bit 7) is refused, even with a valid MAC.
func TestReceiptWithUnknownFlagIsMalformed(t *testing.T) {
	k := ring(t, key("r1", 1))
	s := issue(t, k, sample())
	parts := strings.Split(s, ".")
	body, _ := base64.RawURLEncoding.DecodeString(parts[2])
	body[16] |= 0x80
	parts[2] = base64.RawURLEncoding.EncodeToString(body)
	signed := strings.Join(parts[:3], ".")
	forged := signed + "." + macOf(t, key("r1", 1), signed)
	if _, err := k.Check(forged, t0); !errors.Is(err, receipt.ErrMalformed) {
		t.Fatalf("unknown flag bit: %v", err)
	}
}

// TestPlayReceiptMeetsPolicy: a play-integrity receipt is held to the
// play_* policy as it is when it is used.
func TestPlayReceiptMeetsPolicy(t *testing.T) {
	full := receipt.PlayVerdicts{Basic: true, Device: true, Strong: true, Recognized: true, Licensed: true, PlayProtect: true}
	for _, tc := range []struct {
		name string
		edit func(v *receipt.PlayVerdicts)
		p    receipt.Policy
		ok   bool
	}{
		{"genuine-default", func(*receipt.PlayVerdicts) {}, receipt.Policy{}, true},
		{"genuine-strictest", func(*receipt.PlayVerdicts) {}, receipt.Policy{PlayMinDevice: "strong", PlayRequireLicensed: true, PlayRequirePlayProtect: true}, true},
		{"unrecognized", func(v *receipt.PlayVerdicts) { v.Recognized = false }, receipt.Policy{}, false},
		{"unrecognized-allowed", func(v *receipt.PlayVerdicts) { v.Recognized = false }, receipt.Policy{PlayAllowUnrecognized: true}, true},
		{"basic-only-default", func(v *receipt.PlayVerdicts) { v.Device, v.Strong = false, false }, receipt.Policy{}, false},
		{"basic-only-basic", func(v *receipt.PlayVerdicts) { v.Device, v.Strong = false, false }, receipt.Policy{PlayMinDevice: "basic"}, true},
		{"device-for-strong", func(v *receipt.PlayVerdicts) { v.Strong = false }, receipt.Policy{PlayMinDevice: "strong"}, false},
		{"unlicensed", func(v *receipt.PlayVerdicts) { v.Licensed = false }, receipt.Policy{PlayRequireLicensed: true}, false},
		{"unlicensed-not-required", func(v *receipt.PlayVerdicts) { v.Licensed = false }, receipt.Policy{}, true},
		{"play-protect", func(v *receipt.PlayVerdicts) { v.PlayProtect = false }, receipt.Policy{PlayRequirePlayProtect: true}, false},
		{"unknown-level", func(*receipt.PlayVerdicts) {}, receipt.Policy{PlayMinDevice: "Strong"}, false},
		{"android-fields-do-not-apply", func(*receipt.PlayVerdicts) {}, receipt.Policy{AndroidMinSecurity: "strongbox"}, true},
	} {
		v := full
		tc.edit(&v)
		err := receipt.MeetsPolicy(playSample(v), tc.p)
		if tc.ok != (err == nil) || err != nil && !errors.Is(err, receipt.ErrPolicy) {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
	// An android-key receipt does not pass on Play verdict bits.
	r := sample()
	r.SecurityLevel, r.Play = "software", full
	if receipt.MeetsPolicy(r, receipt.Policy{}) == nil {
		t.Error("android-key receipt passed on Play verdicts")
	}
}

// macOf is the MAC a receipt's signed part gets under k (the package's own
// construction, so that a test can forge a body with a valid MAC).
func macOf(t *testing.T, k receipt.Key, signed string) string {
	t.Helper()
	m := hmac.New(sha256.New, k.Secret.Reveal())
	m.Write([]byte("attestd receipt\n" + signed))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}
