package model

import (
	"encoding/base64"
	"fmt"
	"sort"
)

// Bounds of the §9 policy members (PROTOCOL.md §9), the same as
// verify/androidkey's (a test holds them equal).
const (
	// MaxPatchAgeDays bounds android_max_patch_age_days: 1 to ten years.
	MaxPatchAgeDays = 3650
	// MaxOSVersion bounds android_min_os_version (osVersion is MMmmpp).
	MaxOSVersion = 999999
	// MaxBootKeys bounds android_allowed_boot_keys.
	MaxBootKeys = 64
)

// validateField checks an app's §9 members: only an android app has them;
// android_max_patch_age_days is 1 to MaxPatchAgeDays, android_min_os_version
// 1 to MaxOSVersion, android_allowed_boot_keys at most MaxBootKeys distinct
// b64 SHA-256 digests, and version_codes, when present, names exactly the
// app's versions, each with a code of at least 0.
func (a *App) validateField(p string) error {
	pol := &a.Policy
	if a.Platform != PlatformAndroid {
		switch {
		case a.VersionCodes != nil:
			return invalid(p+".version_codes", "only android apps have version codes")
		case pol.AndroidMaxPatchAgeDays != nil:
			return invalid(p+".policy.android_max_patch_age_days", "only android apps have patch levels")
		case pol.AndroidMinOSVersion != nil:
			return invalid(p+".policy.android_min_os_version", "only android apps have an OS version")
		case pol.AndroidAllowedBootKeys != nil:
			return invalid(p+".policy.android_allowed_boot_keys", "only android apps have boot keys")
		}
		return nil
	}
	if d := pol.AndroidMaxPatchAgeDays; d != nil && (*d < 1 || *d > MaxPatchAgeDays) {
		return invalid(p+".policy.android_max_patch_age_days", "must be 1 to %d days (got %d)", MaxPatchAgeDays, *d)
	}
	if v := pol.AndroidMinOSVersion; v != nil && (*v < 1 || *v > MaxOSVersion) {
		return invalid(p+".policy.android_min_os_version", "must be 1 to %d, as osVersion is written (130000 for Android 13; got %d)", MaxOSVersion, *v)
	}
	if err := validateBootKeys(p+".policy.android_allowed_boot_keys", pol.AndroidAllowedBootKeys); err != nil {
		return err
	}
	return a.validateVersionCodes(p + ".version_codes")
}

func validateBootKeys(p string, keys []string) error {
	if len(keys) > MaxBootKeys {
		return invalid(p, "at most %d boot keys (got %d)", MaxBootKeys, len(keys))
	}
	seen := map[string]bool{}
	for i, k := range keys {
		if !IsDigest(base64.StdEncoding.Strict(), k) {
			return invalid(fmt.Sprintf("%s[%d]", p, i), "must be b64 of a SHA-256 digest (32 bytes) of a verified boot key")
		}
		if seen[k] {
			return invalid(fmt.Sprintf("%s[%d]", p, i), "boot key listed twice")
		}
		seen[k] = true
	}
	return nil
}

func (a *App) validateVersionCodes(p string) error {
	if a.VersionCodes == nil {
		return nil
	}
	names := make([]string, 0, len(a.VersionCodes))
	for v := range a.VersionCodes {
		names = append(names, v)
	}
	sort.Strings(names)
	for _, v := range names {
		if _, ok := a.Versions[v]; !ok {
			return invalid(fmt.Sprintf("%s[%q]", p, v), "names no version of the app's versions")
		}
		if c := a.VersionCodes[v]; c < 0 {
			return invalid(fmt.Sprintf("%s[%q]", p, v), "a version code is at least 0 (got %d)", c)
		}
	}
	for _, v := range sortedKeys(a.Versions) {
		if _, ok := a.VersionCodes[v]; !ok {
			return invalid(p, "version %q has no code: version_codes, when present, names every version", v)
		}
	}
	return nil
}
