package receipt

import (
	"bytes"
	"encoding/binary"
	"testing"
	"time"
)

// TestForgedExtensionRefused: extension items that the issuer never writes
// (an unknown tag, tags out of order or repeated, a length past the end, a
// field of the wrong size, an empty or oversized serial list) do not
// decode, whatever a MAC over them says.
func TestForgedExtensionRefused(t *testing.T) {
	base, err := encodeBody(Receipt{AppID: "a", DID: "d", Format: FormatAndroidKey}, 1, 2)
	if err != nil {
		t.Fatal(err)
	}
	i64 := binary.AppendVarint(nil, 202507)
	item := func(tag byte, v []byte) []byte { return append([]byte{tag, byte(len(v))}, v...) }
	for name, ext := range map[string][]byte{
		"unknown-tag":           {99, 0},
		"tag-zero":              {0, 0},
		"repeated-tag":          append(item(tagOSVersion, i64), item(tagOSVersion, i64)...),
		"decreasing-tags":       append(item(tagOSPatchLevel, i64), item(tagOSVersion, i64)...),
		"length-past-end":       {tagOSVersion, 9, 1},
		"lone-tag":              {tagSerials},
		"fixed-width-int":       item(tagOSVersion, []byte{0, 0, 0, 0, 0, 0x03, 0x16, 0x6b}),
		"unterminated-int":      item(tagOSVersion, []byte{0x80, 0x80}),
		"empty-int":             item(tagOSVersion, nil),
		"int-over-64-bits":      item(tagOSVersion, []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f}),
		"version-code-trailing": item(tagVersionCode, append(i64, 0)),
		"short-boot-key":        item(tagBootKey, make([]byte, 31)),
		"empty-serials":         item(tagSerials, nil),
		"serial-21-bytes":       item(tagSerials, append([]byte{21}, bytes.Repeat([]byte{1}, 21)...)),
		"serial-past-item":      item(tagSerials, []byte{5, 1}),
		"nine-serials":          item(tagSerials, []byte{1, 1, 1, 2, 1, 3, 1, 4, 1, 5, 1, 6, 1, 7, 1, 8, 1, 9}),
	} {
		if _, err := decodeBody(append(bytes.Clone(base), ext...)); err == nil {
			t.Errorf("%s: decoded", name)
		}
	}
	ok := append(bytes.Clone(base), append([]byte{tagSerials, 4, 1, 7, 1, 8, tagVersionCode, byte(len(i64))}, i64...)...)
	r, err := decodeBody(ok)
	if err != nil || r.Android.Serials != "\x01\x07\x01\x08" || !r.Android.HasVersionCode || r.Android.VersionCode != 202507 {
		t.Errorf("valid extension: serials %q, %+v, %v", r.Android.Serials, r.Android, err)
	}
	if r.ExpiresAt != time.Unix(2, 0).UTC() {
		t.Errorf("expiry %s", r.ExpiresAt)
	}
}

// FuzzDecodeBody feeds the body decoder arbitrary bytes (behind the MAC,
// so FuzzReceiptCheck rarely reaches it); the committed corpus holds §9
// bodies and the forged extensions above. A body that decodes encodes
// back to one that decodes to the same receipt.
func FuzzDecodeBody(f *testing.F) {
	full := Receipt{AppID: "a", DID: "d", Format: FormatAndroidKey, SecurityLevel: "tee", BootState: "verified", DeviceLocked: true,
		Android: Android{Serials: "\x01\x07\x02\x01\x02", OSVersion: 160000, OSPatchLevel: 202511, VendorPatchLevel: 20251105,
			BootPatchLevel: 20251105, HasBootKey: true, VersionCode: 421, HasVersionCode: true}}
	for _, r := range []Receipt{full, {AppID: "a", DID: "d", Format: FormatAppleAppAttest, Environment: "production"}} {
		b, err := encodeBody(r, 1, 2)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := decodeBody(b)
		if err != nil {
			return
		}
		if n := r.Android.Serials.Len(); n > MaxSerials {
			t.Fatalf("%d serials", n)
		}
		again, err := encodeBody(r, r.IssuedAt.Unix(), r.ExpiresAt.Unix())
		if err != nil {
			t.Fatal(err)
		}
		r2, err := decodeBody(again)
		if err != nil || r2 != r {
			t.Fatalf("re-encoded body decodes to %+v (%v), want %+v", r2, err, r)
		}
	})
}
