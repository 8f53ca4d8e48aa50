package androidkey_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/attestd/attestd/verify/androidkey"
	"github.com/attestd/attestd/verify/platformtest"
)

func goodDescription() []byte {
	return platformtest.KeyDescription(platformtest.AndroidLeaf{
		Challenge: []byte("challenge"),
		Package:   testApp,
		Signer:    testSigner(),
	})
}

func TestParseKeyDescription(t *testing.T) {
	kd, err := androidkey.ParseKeyDescription(goodDescription())
	if err != nil {
		t.Fatal(err)
	}
	if kd.AttestationVersion != 300 || kd.KeyMintVersion != 300 ||
		kd.AttestationSecurityLevel != androidkey.LevelTEE || kd.KeyMintSecurityLevel != androidkey.LevelTEE {
		t.Errorf("header %+v", kd)
	}
	if string(kd.AttestationChallenge) != "challenge" {
		t.Errorf("challenge %q", kd.AttestationChallenge)
	}
	rot := kd.HardwareEnforced.RootOfTrust
	if rot == nil || !rot.DeviceLocked || rot.VerifiedBootState != androidkey.BootVerified || len(rot.VerifiedBootKey) != 32 || len(rot.VerifiedBootHash) != 32 {
		t.Errorf("rootOfTrust %+v", rot)
	}
	id := kd.SoftwareEnforced.AttestationApplicationID
	s := testSigner()
	if id == nil || len(id.Packages) != 1 || id.Packages[0] != (androidkey.PackageInfo{Name: testApp, Version: 1}) ||
		len(id.SignatureDigests) != 1 || !bytes.Equal(id.SignatureDigests[0], s[:]) {
		t.Errorf("attestationApplicationId %+v", id)
	}
}

// der builds DER by hand for the edge cases below.
func der(tag byte, body ...byte) []byte {
	if len(body) >= 0x80 {
		return append([]byte{tag, 0x81, byte(len(body))}, body...)
	}
	return append([]byte{tag, byte(len(body))}, body...)
}

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

// description assembles a key description with the given authorization
// list bodies.
func description(sw, hw []byte) []byte {
	return der(0x30, cat(
		der(0x02, 0x01, 0x2c), // version 300
		der(0x0a, 0x01),       // TEE
		der(0x02, 0x01, 0x2c),
		der(0x0a, 0x01),
		der(0x04, 'c'),
		der(0x04),
		der(0x30, sw...),
		der(0x30, hw...),
	)...)
}

func withLen(tagBytes []byte, body []byte) []byte {
	return cat(tagBytes, []byte{byte(len(body))}, body)
}

func rot(locked ...byte) []byte {
	return withLen([]byte{0xbf, 0x85, 0x40}, der(0x30, cat(der(0x04, 1, 2), der(0x01, locked...), der(0x0a, 0x00))...))
}

func TestParseKeyDescriptionEdges(t *testing.T) {
	unknownTag := withLen([]byte{0xbf, 0x87, 0x68}, der(0x02, 0x05)) // [1000] INTEGER 5
	for _, tc := range []struct {
		name   string
		in     []byte
		ok     bool
		locked bool
	}{
		{"pass/generated", goodDescription(), true, true},
		{"pass/device-locked-0x01-quirk", description(nil, rot(0x01)), true, true},
		{"pass/device-locked-0xff", description(nil, rot(0xff)), true, true},
		{"pass/device-unlocked", description(nil, rot(0x00)), true, false},
		{"pass/unknown-tag-tolerated", description(unknownTag, cat(unknownTag, rot(0xff))), true, true},
		{"pass/keymaster2-root-of-trust-without-hash", description(nil, rot(0xff)), true, true},
		{"pass/trailing-element-in-sequence", der(0x30, cat(description(nil, rot(0xff))[2:], der(0x05))...), true, true},
		{"fail/empty", nil, false, false},
		{"fail/not-a-sequence", der(0x31), false, false},
		{"fail/trailing-bytes", cat(description(nil, rot(0xff)), []byte{0}), false, false},
		{"fail/indefinite-length", []byte{0x30, 0x80, 0, 0}, false, false},
		{"fail/length-beyond-input", []byte{0x30, 0x82, 0xff, 0xff}, false, false},
		{"fail/truncated-header", der(0x30, der(0x02, 0x01)...), false, false},
		{"fail/root-of-trust-repeated", description(nil, cat(rot(0xff), rot(0xff))), false, false},
		{"fail/authorization-not-explicit", description(der(0x02, 0x01), nil), false, false},
		{"fail/boolean-two-bytes", description(nil, rot(0x01, 0x01)), false, false},
		{"fail/boot-state-out-of-range", description(nil, withLen([]byte{0xbf, 0x85, 0x40},
			der(0x30, cat(der(0x04), der(0x01, 0xff), der(0x0a, 0x07))...))), false, false},
		{"fail/security-level-unknown", der(0x30, cat(der(0x02, 0x01, 0x2c), der(0x0a, 0x05), der(0x02, 0x01), der(0x0a, 0x01),
			der(0x04), der(0x04), der(0x30), der(0x30))...), false, false},
		{"fail/version-zero", der(0x30, cat(der(0x02, 0x00), der(0x0a, 0x01), der(0x02, 0x01), der(0x0a, 0x01),
			der(0x04), der(0x04), der(0x30), der(0x30))...), false, false},
		{"fail/integer-too-long", der(0x30, cat(der(0x02, 1, 2, 3, 4, 5, 6, 7, 8, 9), der(0x0a, 0x01))...), false, false},
		{"fail/non-minimal-tag", description(nil, withLen([]byte{0xbf, 0x80, 0x85, 0x40}, nil)), false, false},
		{"fail/too-large", make([]byte, 16<<10+1), false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			kd, err := androidkey.ParseKeyDescription(tc.in)
			if !tc.ok {
				if !errors.Is(err, androidkey.ErrMalformed) {
					t.Fatalf("got %v, want ErrMalformed", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if r := kd.HardwareEnforced.RootOfTrust; r == nil || r.DeviceLocked != tc.locked {
				t.Errorf("rootOfTrust %+v", r)
			}
		})
	}
}

// TestApplicationIDNested: attestationApplicationId is an OCTET STRING
// wrapping DER; garbage inside it is malformed.
func TestApplicationIDNested(t *testing.T) {
	bad := withLen([]byte{0xbf, 0x85, 0x45}, der(0x04, der(0x30, der(0x31)...)...)) // SEQUENCE with one SET only
	_, err := androidkey.ParseKeyDescription(description(bad, rot(0xff)))
	if !errors.Is(err, androidkey.ErrMalformed) {
		t.Fatalf("got %v", err)
	}
	good := withLen([]byte{0xbf, 0x85, 0x45}, der(0x04, der(0x30, cat(der(0x31, der(0x30, cat(der(0x04, 'a'), der(0x02, 0x07))...)...), der(0x31, der(0x04, 'd')...))...)...))
	kd, err := androidkey.ParseKeyDescription(description(good, rot(0xff)))
	if err != nil {
		t.Fatal(err)
	}
	id := kd.SoftwareEnforced.AttestationApplicationID
	if id.Packages[0].Name != "a" || id.Packages[0].Version != 7 || string(id.SignatureDigests[0]) != "d" {
		t.Errorf("%+v", id)
	}
}
