package receipt_test

import (
	"errors"
	"testing"

	"github.com/attestd/attestd/crypto/receipt"
)

// TestForPlatform: a receipt is accepted only for an app of the platform
// its format belongs to (PROTOCOL.md §7 1.1).
func TestForPlatform(t *testing.T) {
	for _, tc := range []struct {
		format, platform string
		ok               bool
	}{
		{receipt.FormatAndroidKey, "android", true},
		{receipt.FormatPlayIntegrity, "android", true},
		{receipt.FormatAppleAppAttest, "ios", true},
		{receipt.FormatAndroidKey, "ios", false},
		{receipt.FormatPlayIntegrity, "ios", false},
		{receipt.FormatAppleAppAttest, "android", false},
		{receipt.FormatAndroidKey, "", false},
		{"tpm", "android", false},
		{"", "", false},
		{"Android-Key", "android", false},
	} {
		r := sample()
		r.Format = tc.format
		err := r.ForPlatform(tc.platform)
		if tc.ok != (err == nil) || err != nil && !errors.Is(err, receipt.ErrPlatform) {
			t.Errorf("%q receipt for a %q app: %v", tc.format, tc.platform, err)
		}
	}
}

// TestPlayIntegrityRoundTrip: the format string survives the body.
func TestPlayIntegrityRoundTrip(t *testing.T) {
	k := ring(t, key("r1", 1))
	r := sample()
	r.Format = receipt.FormatPlayIntegrity
	got, err := k.Check(issue(t, k, r), t0)
	if err != nil || got.Format != receipt.FormatPlayIntegrity || got.ForPlatform("android") != nil {
		t.Fatalf("%+v, %v", got, err)
	}
}
