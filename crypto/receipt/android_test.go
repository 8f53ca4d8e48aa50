package receipt_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strings"
	"testing"

	"github.com/attestd/attestd/crypto/receipt"
)

func androidSample(t testing.TB) receipt.Receipt {
	t.Helper()
	r := sample()
	serials, err := receipt.PackSerials([][]byte{{1}, bytes.Repeat([]byte{0xfe}, 20), {0x03, 0x88, 0x26}, nil})
	if err != nil {
		t.Fatal(err)
	}
	r.Android = receipt.Android{
		Serials: serials, OSVersion: 160000, OSPatchLevel: 202511, VendorPatchLevel: 20251105, BootPatchLevel: 20251105,
		BootKey: sha256.Sum256([]byte("boot")), HasBootKey: true, VersionCode: 421, HasVersionCode: true,
	}
	return r
}

// TestAndroidFieldsRoundTrip: what a §9 receipt records comes back as it
// was issued, serials in chain order, and the receipt stays within MaxLen
// for the longest app id and eight serials of 20 bytes.
func TestAndroidFieldsRoundTrip(t *testing.T) {
	k := ring(t, key("r1", 1))
	r := androidSample(t)
	got, err := k.Check(issue(t, k, r), t0)
	if err != nil {
		t.Fatal(err)
	}
	r.IssuedAt = t0
	if got != r {
		t.Fatalf("Check = %+v, want %+v", got, r)
	}
	var serials []string
	for s := range got.Android.Serials.All() {
		serials = append(serials, base64.RawStdEncoding.EncodeToString([]byte(s)))
	}
	if len(serials) != 4 || serials[0] != "AQ" || serials[2] != "A4gm" || serials[3] != "" || got.Android.Serials.Len() != 4 {
		t.Errorf("serials %q", serials)
	}

	big := androidSample(t)
	big.AppID = strings.Repeat("a", 128)
	var eight [][]byte
	for i := 0; i < receipt.MaxSerials; i++ {
		eight = append(eight, bytes.Repeat([]byte{0xff}, receipt.MaxSerialLen))
	}
	if big.Android.Serials, err = receipt.PackSerials(eight); err != nil {
		t.Fatal(err)
	}
	big.Android.VersionCode = -1 << 63
	s := issue(t, ring(t, key(strings.Repeat("k", receipt.MaxKeyIDLen), 1)), big)
	if len(s) > receipt.MaxLen {
		t.Errorf("largest receipt is %d characters", len(s))
	}
}

// TestReceiptIssuedBeforeFieldsStillChecks: a receipt issued by the code
// before §9 (no extension items; this one committed to the fuzz corpus by
// an earlier release) checks, with no Android fields recorded.
func TestReceiptIssuedBeforeFieldsStillChecks(t *testing.T) {
	const old = "r1.k2.AAAAAGoddEAAAAAAakUBQAEQY29tLmV4YW1wbGUuc2hvcCxabTl2WW1GeVltRjZjWFY0Y1hWMWVHTnZjbWRsWjNKaGRXeDBaMkZ5Y0d4NQthbmRyb2lkLWtleQlzdHJvbmdib3gIdmVyaWZpZWQA.g3qfhYOb8yJgIVQpBjdTD4SXTFqNYIhgYddHgseskfA"
	r, err := ring(t, key("k2", 2), key("k1", 1)).Check(old, t0)
	if err != nil {
		t.Fatal(err)
	}
	if r.Format != receipt.FormatAndroidKey || r.Android != (receipt.Android{}) {
		t.Errorf("old receipt: %+v", r)
	}
}

// TestPackSerialsBounds: more than eight serials, or one over 20 bytes, is
// refused; leading zero bytes are stripped.
func TestPackSerialsBounds(t *testing.T) {
	if _, err := receipt.PackSerials(make([][]byte, receipt.MaxSerials+1)); !errors.Is(err, receipt.ErrKey) {
		t.Errorf("nine serials: %v", err)
	}
	if _, err := receipt.PackSerials([][]byte{make([]byte, 21)[:0], bytes.Repeat([]byte{1}, 21)}); !errors.Is(err, receipt.ErrKey) {
		t.Errorf("21-byte serial: %v", err)
	}
	s, err := receipt.PackSerials([][]byte{{0, 0, 7}})
	if err != nil || s != "\x01\x07" {
		t.Errorf("PackSerials(00 00 07) = %q, %v", s, err)
	}
}

// TestSelfSignedReceiptNeedsListedKey: a receipt of a self-signed locked
// boot passes while its recorded key is listed, and is refused once the
// policy no longer lists it, or when it recorded no key (before §9), with
// the §9 reason android_boot_key; a self-signed boot when the policy lists
// no key, an unlocked device or an unverified boot stay receipt_policy.
func TestSelfSignedReceiptNeedsListedKey(t *testing.T) {
	r := androidSample(t)
	r.BootState = "self_signed"
	listed := receipt.Policy{AndroidAllowedBootKeys: [][32]byte{sha256.Sum256([]byte("other")), r.Android.BootKey}}
	if err := receipt.MeetsPolicy(r, listed); err != nil {
		t.Fatal(err)
	}
	for name, tc := range map[string]struct {
		r      receipt.Receipt
		p      receipt.Policy
		want   error
		reason string
	}{
		"key-delisted":    {r, receipt.Policy{AndroidAllowedBootKeys: [][32]byte{sha256.Sum256([]byte("other"))}}, receipt.ErrBootKey, "android_boot_key"},
		"no-key-recorded": {func() receipt.Receipt { u := r; u.Android = receipt.Android{}; return u }(), listed, receipt.ErrBootKey, "android_boot_key"},
		"no-list":         {r, receipt.Policy{}, receipt.ErrPolicy, "receipt_policy"},
		"unlocked":        {func() receipt.Receipt { u := r; u.DeviceLocked = false; return u }(), listed, receipt.ErrPolicy, "receipt_policy"},
		"unverified":      {func() receipt.Receipt { u := r; u.BootState = "unverified"; return u }(), listed, receipt.ErrPolicy, "receipt_policy"},
	} {
		err := receipt.MeetsPolicy(tc.r, tc.p)
		if !errors.Is(err, tc.want) || receipt.Reason(err) != tc.reason {
			t.Errorf("%s: %v (%s), want %v (%s)", name, err, receipt.Reason(err), tc.want, tc.reason)
		}
		other := receipt.ErrPolicy
		if tc.want == receipt.ErrPolicy {
			other = receipt.ErrBootKey
		}
		if errors.Is(err, other) {
			t.Errorf("%s: %v wraps %v too", name, err, other)
		}
	}
}
