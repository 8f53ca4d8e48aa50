package model

import (
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strings"
	"testing"

	"github.com/attestd/attestd/verify/androidkey"
)

// fieldBundle is goodBundle with the §9 members on its android app.
func fieldBundle(policy, codes string) string {
	b := strings.Replace(goodBundle, `"policy": {"allow_rooted": false, "android_min_security": "tee"}`,
		`"policy": {"allow_rooted": false, "android_min_security": "tee"`+policy+`}`, 1)
	if codes != "" {
		b = strings.Replace(b, `"versions": {"4.2.1": "Y29kZQ", "4.2.2": "Y29kZQ"},`, `"versions": {"4.2.1": "Y29kZQ", "4.2.2": "Y29kZQ"}, "version_codes": `+codes+`,`, 1)
	}
	return b
}

// validBundle is a bundle that Validate accepts, with the §9 members given.
func validBundle(policy, codes string) string {
	key := base64.StdEncoding.EncodeToString(sha256.New().Sum(nil))
	sig := base64.RawURLEncoding.EncodeToString(make([]byte, 32))
	r := strings.NewReplacer(`"c2VjcmV0"`, `"`+base64.StdEncoding.EncodeToString(make([]byte, 32))+`"`, `"c2ln"`, `"`+sig+`"`,
		`"Y29kZQ"`, `"`+sig+`"`, `"cGlu"`, `"`+key+`"`, `"ZGlk"`, `"`+sig+`"`, "BOOTKEY", key)
	return r.Replace(fieldBundle(policy, codes))
}

// TestFieldPolicyAccepted: the §9 members as PROTOCOL.md shows them.
func TestFieldPolicyAccepted(t *testing.T) {
	b, err := decode(validBundle(`, "android_max_patch_age_days": 90, "android_min_os_version": 130000, "android_allowed_boot_keys": ["BOOTKEY"]`,
		`{"4.2.1": 421, "4.2.2": 0}`))
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Validate(); err != nil {
		t.Fatal(err)
	}
	p := b.Apps[0].Policy
	if *p.AndroidMaxPatchAgeDays != 90 || *p.AndroidMinOSVersion != 130000 || len(p.AndroidAllowedBootKeys) != 1 || b.Apps[0].VersionCodes["4.2.1"] != 421 {
		t.Errorf("decoded %+v, codes %v", p, b.Apps[0].VersionCodes)
	}
}

// TestAbsurdFieldPolicyRefused: a bundle's absurd §9 values are refused at
// import, with an error naming the member.
func TestAbsurdFieldPolicyRefused(t *testing.T) {
	for _, tc := range []struct{ name, policy, codes, want string }{
		{"patch-age-zero", `, "android_max_patch_age_days": 0`, "", "apps[0].policy.android_max_patch_age_days: must be 1 to 3650"},
		{"patch-age-negative", `, "android_max_patch_age_days": -30`, "", "apps[0].policy.android_max_patch_age_days"},
		{"patch-age-huge", `, "android_max_patch_age_days": 99999999`, "", "apps[0].policy.android_max_patch_age_days"},
		{"patch-age-overflow", `, "android_max_patch_age_days": 99999999999999999999`, "", "android_max_patch_age_days"},
		{"patch-age-fraction", `, "android_max_patch_age_days": 1.5`, "", "android_max_patch_age_days"},
		{"patch-age-string", `, "android_max_patch_age_days": "90"`, "", "android_max_patch_age_days"},
		{"os-version-zero", `, "android_min_os_version": 0`, "", "apps[0].policy.android_min_os_version: must be 1 to 999999"},
		{"os-version-major-only", `, "android_min_os_version": 13000000`, "", "apps[0].policy.android_min_os_version"},
		{"os-version-negative", `, "android_min_os_version": -1`, "", "apps[0].policy.android_min_os_version"},
		{"boot-key-not-b64", `, "android_allowed_boot_keys": ["not base64!"]`, "", "apps[0].policy.android_allowed_boot_keys[0]"},
		{"boot-key-b64u", `, "android_allowed_boot_keys": ["` + base64.RawURLEncoding.EncodeToString(make([]byte, 32)) + `"]`, "", "android_allowed_boot_keys[0]"},
		{"boot-key-short", `, "android_allowed_boot_keys": ["AAAA"]`, "", "apps[0].policy.android_allowed_boot_keys[0]"},
		{"boot-key-twice", `, "android_allowed_boot_keys": ["BOOTKEY", "BOOTKEY"]`, "", "apps[0].policy.android_allowed_boot_keys[1]: boot key listed twice"},
		{"boot-keys-too-many", `, "android_allowed_boot_keys": [` + strings.Repeat(`"BOOTKEY",`, 64) + `"BOOTKEY"]`, "", "at most 64 boot keys"},
		{"code-negative", "", `{"4.2.1": -1, "4.2.2": 2}`, `apps[0].version_codes["4.2.1"]: a version code is at least 0`},
		{"code-unknown-version", "", `{"4.2.1": 1, "4.2.2": 2, "9.9": 3}`, `apps[0].version_codes["9.9"]: names no version`},
		{"code-missing-version", "", `{"4.2.1": 1}`, `apps[0].version_codes: version "4.2.2" has no code`},
		{"code-huge", "", `{"4.2.1": 1e30, "4.2.2": 2}`, `version_codes`},
		{"code-string", "", `{"4.2.1": "421", "4.2.2": 2}`, `version_codes`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := decode(validBundle(tc.policy, tc.codes))
			if err == nil {
				err = b.Validate()
			}
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

// TestFieldPolicyOnlyForAndroid: an ios app with a §9 member is refused,
// naming it.
func TestFieldPolicyOnlyForAndroid(t *testing.T) {
	one := 1
	for _, tc := range []struct {
		app  App
		want string
	}{
		{App{VersionCodes: map[string]int64{"1": 1}}, "apps[0].version_codes: only android apps"},
		{App{Policy: Policy{AndroidMaxPatchAgeDays: &one}}, "apps[0].policy.android_max_patch_age_days: only android apps"},
		{App{Policy: Policy{AndroidMinOSVersion: new(int64)}}, "apps[0].policy.android_min_os_version: only android apps"},
		{App{Policy: Policy{AndroidAllowedBootKeys: []string{}}}, "apps[0].policy.android_allowed_boot_keys: only android apps"},
	} {
		a := tc.app
		a.ID, a.Account, a.Platform, a.TeamID = "com.example.ios", "acme", PlatformIOS, "TEAM"
		a.Signers = []string{base64.RawURLEncoding.EncodeToString(make([]byte, 32))}
		a.Versions = map[string]string{"1": base64.RawURLEncoding.EncodeToString(make([]byte, 32))}
		if err := a.Validate("apps[0]"); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("got %v, want %q", err, tc.want)
		}
	}
}

// TestFieldBoundsMatchVerifier: the bundle's bounds are the verifier's.
func TestFieldBoundsMatchVerifier(t *testing.T) {
	if MaxPatchAgeDays != androidkey.MaxPatchAgeDays || MaxOSVersion != androidkey.MaxOSVersion || MaxBootKeys != androidkey.MaxBootKeys {
		t.Error("internal/model and verify/androidkey bound the §9 policy differently")
	}
}
