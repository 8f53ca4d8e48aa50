package receipt_test

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/attestd/attestd/crypto/receipt"
	"github.com/attestd/attestd/crypto/secret"
)

var t0 = time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)

func key(id string, fill byte) receipt.Key {
	return receipt.Key{ID: id, Secret: secret.New(bytes.Repeat([]byte{fill}, 32))}
}

func ring(t testing.TB, active receipt.Key, accepted ...receipt.Key) *receipt.Keyring {
	t.Helper()
	k, err := receipt.NewKeyring(active, accepted...)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func sample() receipt.Receipt {
	return receipt.Receipt{
		AppID:         "com.example.shop",
		DID:           "Zm9vYmFyYmF6cXV4cXV1eGNvcmdlZ3JhdWx0Z2FycGx5",
		Format:        receipt.FormatAndroidKey,
		SecurityLevel: "strongbox",
		BootState:     "verified",
		DeviceLocked:  true,
		ExpiresAt:     t0.Add(30 * 24 * time.Hour),
	}
}

func issue(t testing.TB, k *receipt.Keyring, r receipt.Receipt) string {
	t.Helper()
	s, err := k.Issue(r, t0)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestRoundTrip(t *testing.T) {
	k := ring(t, key("r1", 1))
	for _, r := range []receipt.Receipt{
		sample(),
		{AppID: "com.example.ios", DID: "ZGlk", Format: receipt.FormatAppleAppAttest, Environment: "development", ExpiresAt: t0.Add(time.Hour)},
	} {
		s := issue(t, k, r)
		if len(s) > receipt.MaxLen || strings.ContainsFunc(s, func(c rune) bool { return c < 0x21 || c > 0x7e }) {
			t.Errorf("receipt %q is not compact printable ASCII", s)
		}
		got, err := k.Check(s, t0.Add(time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		want := r
		want.IssuedAt = t0
		if got != want {
			t.Errorf("Check = %+v, want %+v", got, want)
		}
	}
}

func TestExpiry(t *testing.T) {
	k := ring(t, key("r1", 1))
	r := sample()
	s := issue(t, k, r)
	if _, err := k.Check(s, r.ExpiresAt.Add(-time.Second)); err != nil {
		t.Errorf("a second before expiry: %v", err)
	}
	for _, at := range []time.Time{r.ExpiresAt, r.ExpiresAt.Add(time.Hour)} {
		_, err := k.Check(s, at)
		if !errors.Is(err, receipt.ErrExpired) || receipt.Reason(err) != "receipt_expired" {
			t.Errorf("at %s: %v", at, err)
		}
		for _, other := range []error{receipt.ErrMalformed, receipt.ErrBadMAC, receipt.ErrUnknownKey} {
			if errors.Is(err, other) {
				t.Errorf("expired also wraps %v", other)
			}
		}
	}
	if _, err := k.Issue(r, r.ExpiresAt); !errors.Is(err, receipt.ErrKey) {
		t.Errorf("Issue with expiry now: %v", err)
	}
}

func TestTamper(t *testing.T) {
	k := ring(t, key("r1", 1), key("r0", 2))
	s := issue(t, k, sample())
	parts := strings.Split(s, ".")
	body, _ := base64.RawURLEncoding.DecodeString(parts[2])
	flipped := append([]byte(nil), body...)
	copy(flipped[bytes.Index(flipped, []byte("strongbox")):], "software ")
	forgedMAC := strings.Repeat("A", len(parts[3]))
	for name, tc := range map[string]struct {
		s    string
		want error
	}{
		"body-changed":       {strings.Join([]string{parts[0], parts[1], base64.RawURLEncoding.EncodeToString(flipped), parts[3]}, "."), receipt.ErrBadMAC},
		"mac-changed":        {strings.Join([]string{parts[0], parts[1], parts[2], forgedMAC}, "."), receipt.ErrBadMAC},
		"kid-swapped":        {strings.Join([]string{parts[0], "r0", parts[2], parts[3]}, "."), receipt.ErrBadMAC},
		"other-deployment":   {issue(t, ring(t, key("r1", 9)), sample()), receipt.ErrBadMAC},
		"unknown-kid":        {strings.Join([]string{parts[0], "zz", parts[2], parts[3]}, "."), receipt.ErrUnknownKey},
		"empty":              {"", receipt.ErrMalformed},
		"other-version":      {"r2" + s[2:], receipt.ErrMalformed},
		"too-few-parts":      {parts[0] + "." + parts[1] + "." + parts[2], receipt.ErrMalformed},
		"too-many-parts":     {s + ".x", receipt.ErrMalformed},
		"mac-short":          {s[:len(s)-1], receipt.ErrMalformed},
		"mac-not-base64":     {s[:len(s)-1] + "*", receipt.ErrMalformed},
		"kid-bad-characters": {strings.Join([]string{parts[0], "r 1", parts[2], parts[3]}, "."), receipt.ErrMalformed},
		"too-long":           {s + strings.Repeat("A", receipt.MaxLen), receipt.ErrMalformed},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := k.Check(tc.s, t0)
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
			if errors.Is(err, receipt.ErrExpired) {
				t.Error("also expired")
			}
		})
	}
}

// TestRotation: a receipt issued with the old key stays valid while the
// new keyring still accepts the old key, and not after it is dropped.
func TestRotation(t *testing.T) {
	oldKey, newKey := key("k1", 1), key("k2", 2)
	before := ring(t, oldKey)
	during := ring(t, newKey, oldKey)
	after := ring(t, newKey)

	old := issue(t, before, sample())
	fresh := issue(t, during, sample())
	if !strings.HasPrefix(fresh, "r1.k2.") || during.ActiveID() != "k2" {
		t.Errorf("during rotation, issued %q", fresh[:8])
	}
	for name, tc := range map[string]struct {
		k    *receipt.Keyring
		s    string
		want error
	}{
		"old-receipt-during-overlap":    {during, old, nil},
		"new-receipt-during-overlap":    {during, fresh, nil},
		"new-receipt-after":             {after, fresh, nil},
		"old-receipt-after-key-dropped": {after, old, receipt.ErrUnknownKey},
		"new-receipt-on-old-node":       {before, fresh, receipt.ErrUnknownKey},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := tc.k.Check(tc.s, t0)
			if tc.want == nil && err != nil || tc.want != nil && !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
}

func TestNewKeyring(t *testing.T) {
	for name, keys := range map[string][]receipt.Key{
		"short-secret": {{ID: "a", Secret: secret.New(make([]byte, 31))}},
		"empty-id":     {key("", 1)},
		"id-with-dot":  {key("a.b", 1)},
		"id-too-long":  {key(strings.Repeat("a", 33), 1)},
		"duplicate":    {key("a", 1), key("a", 2)},
	} {
		if _, err := receipt.NewKeyring(keys[0], keys[1:]...); !errors.Is(err, receipt.ErrKey) {
			t.Errorf("%s: %v", name, err)
		}
	}
	var none *receipt.Keyring
	if _, err := none.Issue(sample(), t0); !errors.Is(err, receipt.ErrKey) {
		t.Errorf("nil keyring Issue: %v", err)
	}
	if _, err := none.Check("r1.a.b.c", t0); !errors.Is(err, receipt.ErrUnknownKey) {
		t.Errorf("nil keyring Check: %v", err)
	}
	k := ring(t, key("a", 0x41))
	for _, f := range []string{"%v", "%+v", "%#v", "%s", "%x", "%q"} {
		if out := fmt.Sprintf(f, k); strings.Contains(out, strings.Repeat("A", 8)) || strings.Contains(out, "65") || strings.Contains(out, "41") {
			t.Errorf("%s prints the key: %s", f, out)
		}
	}
	for name, r := range map[string]receipt.Receipt{
		"no-app":    {DID: "d", Format: "f", ExpiresAt: t0.Add(time.Hour)},
		"no-did":    {AppID: "a", Format: "f", ExpiresAt: t0.Add(time.Hour)},
		"no-format": {AppID: "a", DID: "d", ExpiresAt: t0.Add(time.Hour)},
		"no-expiry": {AppID: "a", DID: "d", Format: "f"},
	} {
		if _, err := k.Issue(r, t0); !errors.Is(err, receipt.ErrKey) {
			t.Errorf("Issue %s: %v", name, err)
		}
	}
}

func TestBoundTo(t *testing.T) {
	r := sample()
	if err := r.BoundTo(r.AppID, r.DID); err != nil {
		t.Fatal(err)
	}
	for name, err := range map[string]error{
		"other-app":    r.BoundTo("com.example.other", r.DID),
		"other-device": r.BoundTo(r.AppID, "b3RoZXI"),
	} {
		if !errors.Is(err, receipt.ErrBinding) || receipt.Reason(err) != "receipt_binding" {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestMeetsPolicy(t *testing.T) {
	android := func(level, boot string, locked bool) receipt.Receipt {
		return receipt.Receipt{Format: receipt.FormatAndroidKey, SecurityLevel: level, BootState: boot, DeviceLocked: locked}
	}
	apple := func(env string) receipt.Receipt {
		return receipt.Receipt{Format: receipt.FormatAppleAppAttest, Environment: env}
	}
	for _, tc := range []struct {
		name string
		r    receipt.Receipt
		p    receipt.Policy
		ok   bool
	}{
		{"pass/tee-default", android("tee", "verified", true), receipt.Policy{}, true},
		{"pass/strongbox-default", android("strongbox", "verified", true), receipt.Policy{}, true},
		{"pass/strongbox-required", android("strongbox", "verified", true), receipt.Policy{AndroidMinSecurity: "strongbox"}, true},
		{"fail/tee-when-strongbox-now-required", android("tee", "verified", true), receipt.Policy{AndroidMinSecurity: "strongbox"}, false},
		{"fail/software-default", android("software", "verified", true), receipt.Policy{}, false},
		{"pass/software-allowed", android("software", "verified", true), receipt.Policy{AndroidMinSecurity: "software"}, true},
		{"fail/unlocked", android("tee", "verified", false), receipt.Policy{}, false},
		{"fail/unverified", android("tee", "unverified", false), receipt.Policy{}, false},
		{"pass/unlocked-allowed", android("tee", "unverified", false), receipt.Policy{AllowUnlockedBootloader: true}, true},
		{"fail/failed-boot-even-allowed", android("tee", "failed", true), receipt.Policy{AllowUnlockedBootloader: true}, false},
		{"fail/unknown-level", android("titan", "verified", true), receipt.Policy{}, false},
		{"fail/invalid-policy", android("tee", "verified", true), receipt.Policy{AndroidMinSecurity: "hsm"}, false},
		{"pass/production", apple("production"), receipt.Policy{}, true},
		{"fail/development-now-refused", apple("development"), receipt.Policy{}, false},
		{"pass/development-allowed", apple("development"), receipt.Policy{AllowAppAttestDevelopment: true}, true},
		{"fail/unknown-environment", apple(""), receipt.Policy{AllowAppAttestDevelopment: true}, false},
		{"fail/unknown-format", receipt.Receipt{Format: "tpm"}, receipt.Policy{}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := receipt.MeetsPolicy(tc.r, tc.p)
			if tc.ok != (err == nil) || err != nil && (!errors.Is(err, receipt.ErrPolicy) || receipt.Reason(err) != "receipt_policy") {
				t.Fatalf("got %v", err)
			}
		})
	}
}

func TestReason(t *testing.T) {
	for err, want := range map[error]string{
		nil:                     "",
		receipt.ErrMalformed:    "receipt_malformed",
		receipt.ErrUnknownKey:   "receipt_unknown_key",
		receipt.ErrBadMAC:       "receipt_bad_mac",
		receipt.ErrExpired:      "receipt_expired",
		receipt.ErrBinding:      "receipt_binding",
		receipt.ErrPlatform:     "receipt_platform",
		receipt.ErrPolicy:       "receipt_policy",
		receipt.ErrBootKey:      "android_boot_key",
		errors.New("elsewhere"): "receipt_invalid",
	} {
		if got := receipt.Reason(err); got != want {
			t.Errorf("Reason(%v) = %q, want %q", err, got, want)
		}
	}
}

// TestCheckAllocs is the allocation budget of the receipt path: the HMAC,
// the two strings a receipt holds (app and did) and the error-free return.
func TestCheckAllocs(t *testing.T) {
	k := ring(t, key("k2", 2), key("k1", 1))
	s := issue(t, k, sample())
	allocs := testing.AllocsPerRun(200, func() {
		if _, err := k.Check(s, t0); err != nil {
			t.Fatal(err)
		}
	})
	if allocs > 10 {
		t.Errorf("Check allocates %.0f times, budget 10", allocs)
	}
}
