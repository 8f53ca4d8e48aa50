package androidkey_test

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"math/big"
	"testing"
	"time"

	"github.com/attestd/attestd/verify/androidkey"
	"github.com/attestd/attestd/verify/platformtest"
)

func TestPatchDate(t *testing.T) {
	day := func(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }
	for _, tc := range []struct {
		level int64
		want  time.Time
		ok    bool
	}{
		{202511, day(2025, 11, 1), true},    // osPatchLevel, YYYYMM
		{20251105, day(2025, 11, 5), true},  // vendor and boot, YYYYMMDD
		{20190700, day(2019, 7, 1), true},   // day 00 (a real StrongBox vector)
		{201907, day(2019, 7, 1), true},     // YYYYMM where YYYYMMDD is due (a real TEE vector)
		{20240229, day(2024, 2, 29), true},  // a leap day
		{20230229, time.Time{}, false},      // not a leap year
		{202513, time.Time{}, false},        // month 13
		{202500, time.Time{}, false},        // month 0
		{20251132, time.Time{}, false},      // day 32
		{199912, time.Time{}, false},        // before 2000
		{0, time.Time{}, false},             // absent
		{-202511, time.Time{}, false},       // negative
		{1 << 62, time.Time{}, false},       // huge
		{2025110, time.Time{}, false},       // seven digits
		{999999999, time.Time{}, false},     // nine digits
		{99991231, day(9999, 12, 31), true}, // the last day read
		{20000101, day(2000, 1, 1), true},   // the first
		{200001, day(2000, 1, 1), true},     // the first month
		{20250431, time.Time{}, false},      // April 31st
		{20251231, day(2025, 12, 31), true}, // the last day of a year
		{20250100, day(2025, 1, 1), true},   // day 00 in January
		{2025_11_05_0, time.Time{}, false},  // a digit too many
		{19991231, time.Time{}, false},      // 1999
		{100001, time.Time{}, false},        // year 1000
		{999913, time.Time{}, false},        // month 13 of 9999
		{20251105 * 10, time.Time{}, false}, // ten digits
		{20251131, time.Time{}, false},      // November 31st
	} {
		got, ok := androidkey.PatchDate(tc.level)
		if ok != tc.ok || !got.Equal(tc.want) {
			t.Errorf("PatchDate(%d) = %s, %v; want %s, %v", tc.level, got, ok, tc.want, tc.ok)
		}
	}
}

// fieldLeaf is a good leaf of a patched Android 15 device of version code
// 421, booted and locked with the given boot state and key.
func (f *fixture) fieldLeaf() platformtest.AndroidLeaf {
	l := f.good()
	l.OSVersion, l.OSPatchLevel, l.VendorPatchLevel, l.BootPatchLevel = 150000, 202605, 20260505, 20260501
	l.VersionCode = 421
	return l
}

// TestFieldPolicy: the §9 policy on evidence, at testNow (2026-06-01).
func TestFieldPolicy(t *testing.T) {
	f := newFixture(t)
	customKey := sha256.Sum256([]byte("an alternative OS's boot key"))
	otherKey := sha256.Sum256([]byte("another boot key"))
	for _, tc := range []struct {
		name   string
		leaf   func(*platformtest.AndroidLeaf)
		policy androidkey.Policy
		want   error
	}{
		{"pass/no-field-policy", nil, androidkey.Policy{}, nil},
		{"pass/all", nil, androidkey.Policy{MaxPatchAgeDays: 90, MinOSVersion: 130000, CheckVersionCode: true, VersionCode: 421}, nil},
		{"pass/patch-exactly-at-limit", func(l *platformtest.AndroidLeaf) { l.OSPatchLevel, l.VendorPatchLevel, l.BootPatchLevel = 202603, 0, 0 },
			androidkey.Policy{MaxPatchAgeDays: 93}, nil}, // 2026-03-01 is 92.5 days before testNow
		{"fail/os-patch-too-old", func(l *platformtest.AndroidLeaf) { l.OSPatchLevel = 202601 }, androidkey.Policy{MaxPatchAgeDays: 90}, androidkey.ErrPatchLevel},
		{"fail/os-patch-a-day-too-old", func(l *platformtest.AndroidLeaf) { l.OSPatchLevel, l.VendorPatchLevel, l.BootPatchLevel = 202603, 0, 0 },
			androidkey.Policy{MaxPatchAgeDays: 92}, androidkey.ErrPatchLevel},
		{"fail/os-patch-absent", func(l *platformtest.AndroidLeaf) { l.OSPatchLevel = 0 }, androidkey.Policy{MaxPatchAgeDays: 90}, androidkey.ErrPatchLevel},
		{"pass/os-patch-absent-no-policy", func(l *platformtest.AndroidLeaf) { l.OSPatchLevel = 0 }, androidkey.Policy{}, nil},
		{"fail/vendor-patch-too-old", func(l *platformtest.AndroidLeaf) { l.VendorPatchLevel = 20250105 }, androidkey.Policy{MaxPatchAgeDays: 90}, androidkey.ErrPatchLevel},
		{"fail/boot-patch-too-old", func(l *platformtest.AndroidLeaf) { l.BootPatchLevel = 20250105 }, androidkey.Policy{MaxPatchAgeDays: 90}, androidkey.ErrPatchLevel},
		{"pass/vendor-and-boot-absent", func(l *platformtest.AndroidLeaf) { l.VendorPatchLevel, l.BootPatchLevel = 0, 0 }, androidkey.Policy{MaxPatchAgeDays: 90}, nil},
		{"fail/patch-level-unreadable", func(l *platformtest.AndroidLeaf) { l.BootPatchLevel = 20261340 }, androidkey.Policy{MaxPatchAgeDays: 90}, androidkey.ErrPatchLevel},
		{"fail/os-version-below", func(l *platformtest.AndroidLeaf) { l.OSVersion = 120000 }, androidkey.Policy{MinOSVersion: 130000}, androidkey.ErrOSVersion},
		{"fail/os-version-absent", func(l *platformtest.AndroidLeaf) { l.OSVersion = 0 }, androidkey.Policy{MinOSVersion: 130000}, androidkey.ErrOSVersion},
		{"pass/os-version-equal", func(l *platformtest.AndroidLeaf) { l.OSVersion = 130000 }, androidkey.Policy{MinOSVersion: 130000}, nil},
		{"fail/version-code-other", nil, androidkey.Policy{CheckVersionCode: true, VersionCode: 420}, androidkey.ErrVersionCode},
		{"fail/policy-negative-version-code", nil, androidkey.Policy{CheckVersionCode: true, VersionCode: -1}, androidkey.ErrPolicy},
		{"pass/self-signed-listed-key", func(l *platformtest.AndroidLeaf) { l.BootState, l.BootKey = androidkey.BootSelfSigned, customKey[:] },
			androidkey.Policy{AllowedBootKeys: [][32]byte{otherKey, customKey}}, nil},
		{"fail/self-signed-unlisted-key", func(l *platformtest.AndroidLeaf) { l.BootState, l.BootKey = androidkey.BootSelfSigned, otherKey[:] },
			androidkey.Policy{AllowedBootKeys: [][32]byte{customKey}}, androidkey.ErrBootKey},
		{"fail/self-signed-long-key-unlisted", func(l *platformtest.AndroidLeaf) {
			l.BootState, l.BootKey = androidkey.BootSelfSigned, bytes.Repeat([]byte{7}, 270)
		}, androidkey.Policy{AllowedBootKeys: [][32]byte{customKey}}, androidkey.ErrBootKey},
		{"fail/self-signed-unlisted-key-too-many-listed", func(l *platformtest.AndroidLeaf) { l.BootState, l.BootKey = androidkey.BootSelfSigned, otherKey[:] },
			androidkey.Policy{AllowedBootKeys: make([][32]byte, androidkey.MaxBootKeys)}, androidkey.ErrBootKey},
		{"fail/self-signed-no-list", func(l *platformtest.AndroidLeaf) { l.BootState, l.BootKey = androidkey.BootSelfSigned, customKey[:] },
			androidkey.Policy{}, androidkey.ErrBootState},
		{"fail/self-signed-listed-but-unlocked", func(l *platformtest.AndroidLeaf) {
			l.BootState, l.BootKey, l.Unlocked = androidkey.BootSelfSigned, customKey[:], true
		}, androidkey.Policy{AllowedBootKeys: [][32]byte{customKey}}, androidkey.ErrBootState},
		{"fail/unverified-listed-key", func(l *platformtest.AndroidLeaf) { l.BootState, l.BootKey = androidkey.BootUnverified, customKey[:] },
			androidkey.Policy{AllowedBootKeys: [][32]byte{customKey}}, androidkey.ErrBootState},
		{"pass/self-signed-long-key-by-hash", func(l *platformtest.AndroidLeaf) {
			l.BootState, l.BootKey = androidkey.BootSelfSigned, bytes.Repeat([]byte{7}, 270) // a key, not its hash
		}, androidkey.Policy{AllowedBootKeys: [][32]byte{sha256.Sum256(bytes.Repeat([]byte{7}, 270))}}, nil},
		{"fail/policy-patch-age-absurd", nil, androidkey.Policy{MaxPatchAgeDays: 1 << 40}, androidkey.ErrPolicy},
		{"fail/policy-os-version-absurd", nil, androidkey.Policy{MinOSVersion: -1}, androidkey.ErrPolicy},
		{"fail/policy-too-many-boot-keys", nil, androidkey.Policy{AllowedBootKeys: make([][32]byte, androidkey.MaxBootKeys+1)}, androidkey.ErrPolicy},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := f.fieldLeaf()
			if tc.leaf != nil {
				tc.leaf(&l)
			}
			res, err := androidkey.Verify(f.input(t, l), tc.policy, f.ca.Roots(), nil, testNow)
			checkErr(t, err, tc.want)
			if err != nil {
				return
			}
			a := res.Attested
			if a.OSVersion != l.OSVersion || a.OSPatchLevel != l.OSPatchLevel || a.VendorPatchLevel != l.VendorPatchLevel ||
				a.BootPatchLevel != l.BootPatchLevel || !a.HasVersionCode || a.VersionCode != l.VersionCode || a.DeviceLocked == l.Unlocked {
				t.Errorf("Attested %+v for leaf %+v", a, l)
			}
		})
	}
}

// TestReceiptRecheckByClock: what a receipt recorded passes CheckFields
// while the patch level is young enough, and is refused once the clock
// makes it too old.
func TestReceiptRecheckByClock(t *testing.T) {
	a := androidkey.Attested{OSVersion: 150000, OSPatchLevel: 202605}
	p := androidkey.Policy{MaxPatchAgeDays: 30}
	if err := androidkey.CheckFields(a, p, time.Date(2026, 5, 31, 0, 0, 0, 0, time.UTC)); err != nil {
		t.Fatal(err)
	}
	err := androidkey.CheckFields(a, p, time.Date(2026, 6, 1, 0, 0, 1, 0, time.UTC))
	checkErr(t, err, androidkey.ErrPatchLevel)
	if got := androidkey.Reason(err); got != androidkey.ReasonPatchLevel {
		t.Errorf("Reason = %q", got)
	}
}

// TestUnlistedBootKeyHasItsOwnReason: a locked device booted by an
// alternative OS signed with a key the app's android_allowed_boot_keys does
// not hold is android_boot_key; the same device when the policy lists no
// key, an unlocked one or a failed boot stay android_boot_state, whatever
// key they carry.
func TestUnlistedBootKeyHasItsOwnReason(t *testing.T) {
	listed, other := sha256.Sum256([]byte("listed")), sha256.Sum256([]byte("attacker's own key"))
	withList := androidkey.Policy{AllowedBootKeys: [][32]byte{listed}}
	for _, tc := range []struct {
		name   string
		state  androidkey.BootState
		locked bool
		key    [32]byte
		p      androidkey.Policy
		reason string
	}{
		{"self-signed-listed", androidkey.BootSelfSigned, true, listed, withList, ""},
		{"self-signed-unlisted", androidkey.BootSelfSigned, true, other, withList, androidkey.ReasonBootKey},
		{"self-signed-zero-key", androidkey.BootSelfSigned, true, [32]byte{}, withList, androidkey.ReasonBootKey},
		{"self-signed-no-list", androidkey.BootSelfSigned, true, listed, androidkey.Policy{}, androidkey.ReasonBootState},
		{"self-signed-empty-list", androidkey.BootSelfSigned, true, listed, androidkey.Policy{AllowedBootKeys: [][32]byte{}}, androidkey.ReasonBootState},
		{"self-signed-unlocked-unlisted", androidkey.BootSelfSigned, false, other, withList, androidkey.ReasonBootState},
		{"unverified-listed", androidkey.BootUnverified, true, listed, withList, androidkey.ReasonBootState},
		{"failed-listed", androidkey.BootFailed, true, listed, withList, androidkey.ReasonBootState},
		{"verified-unlisted", androidkey.BootVerified, true, other, withList, ""},
		{"self-signed-unlisted-unlocked-allowed", androidkey.BootSelfSigned, false, other, androidkey.Policy{AllowUnlockedBootloader: true, AllowedBootKeys: [][32]byte{listed}}, ""},
	} {
		err := androidkey.BootAllowed(tc.state, tc.locked, tc.key, tc.p)
		if got := androidkey.Reason(err); got != tc.reason {
			t.Errorf("%s: %v (%q), want %q", tc.name, err, got, tc.reason)
		}
		if errors.Is(err, androidkey.ErrBootKey) && errors.Is(err, androidkey.ErrBootState) {
			t.Errorf("%s: %v wraps both", tc.name, err)
		}
	}
}

// TestBootKeyID: a 32-byte verifiedBootKey is its own id (KeyMint writes
// the key's SHA-256); any other length is hashed.
func TestBootKeyID(t *testing.T) {
	d := sha256.Sum256([]byte("k"))
	if androidkey.BootKeyID(d[:]) != d {
		t.Error("a 32-byte key is not its own id")
	}
	if androidkey.BootKeyID([]byte("k")) != d {
		t.Error("a short key is not hashed")
	}
}

// TestVersionCodeOfEveryApplicationID: with the id in both lists, each must
// name the registered version code.
func TestVersionCodeOfEveryApplicationID(t *testing.T) {
	f := newFixture(t)
	l := f.fieldLeaf()
	l.AppIDInHardware = true
	res, err := androidkey.Verify(f.input(t, l), androidkey.Policy{CheckVersionCode: true, VersionCode: 421}, f.ca.Roots(), nil, testNow)
	if err != nil || res.Attested.VersionCode != 421 {
		t.Fatalf("hardware application id: %v, %+v", err, res.Attested)
	}
}

// TestRepeatedPatchLevelRefused: a key description that gives osPatchLevel
// twice (a young one to pass the policy, an old one to confuse a reader
// that keeps the first) is malformed, and so is one whose osVersion is not
// an INTEGER.
func TestRepeatedPatchLevelRefused(t *testing.T) {
	tag := func(n byte) []byte { return []byte{0xbf, 0x85, n} } // [705] 0x41, [706] 0x42, [718] 0x4e, [719] 0x4f
	for name, hw := range map[string][]byte{
		"repeated-os-patch-level":     cat(withLen(tag(0x42), der(0x02, 0x03, 0x16, 0x6b)), withLen(tag(0x42), der(0x02, 0x03, 0x03, 0x1f, 0x3b)), rot(0xff)),
		"repeated-os-version":         cat(withLen(tag(0x41), der(0x02, 0x01)), withLen(tag(0x41), der(0x02, 0x02)), rot(0xff)),
		"os-version-octets":           cat(withLen(tag(0x41), der(0x04, 0x01)), rot(0xff)),
		"boot-patch-level-9-bytes":    cat(withLen(tag(0x4f), der(0x02, 1, 2, 3, 4, 5, 6, 7, 8, 9)), rot(0xff)),
		"vendor-patch-trailing-bytes": cat(withLen(tag(0x4e), cat(der(0x02, 0x01), der(0x02, 0x01))), rot(0xff)),
		"vendor-patch-empty":          cat(withLen(tag(0x4e), nil), rot(0xff)),
	} {
		t.Run(name, func(t *testing.T) {
			_, err := androidkey.ParseKeyDescription(description(nil, hw))
			if !errors.Is(err, androidkey.ErrMalformed) {
				t.Fatalf("got %v, want ErrMalformed", err)
			}
		})
	}
}

// TestChainWithOverlongSerialRefused: a certificate serial number over 20
// octets (RFC 5280 §4.1.2.2), which a receipt could not record, is
// malformed evidence; 20 octets pass and are returned as they are.
func TestChainWithOverlongSerialRefused(t *testing.T) {
	f := newFixture(t)
	for _, n := range []int{20, 21, 64} {
		l := f.good()
		l.Serial = new(big.Int).SetBytes(bytes.Repeat([]byte{0x7f}, n))
		res, err := androidkey.Verify(f.input(t, l), androidkey.Policy{}, f.ca.Roots(), nil, testNow)
		if n <= androidkey.MaxSerialLen {
			if err != nil || !bytes.Equal(res.Serials[0], l.Serial.Bytes()) {
				t.Errorf("%d-byte serial: %v, serials %x", n, err, res.Serials)
			}
			continue
		}
		checkErr(t, err, androidkey.ErrMalformed)
	}
}
