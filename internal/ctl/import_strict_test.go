package ctl

import (
	"bytes"
	"strings"
	"testing"
)

// TestBundleRepeatedMemberRefused: `attestctl import` of a bundle that
// names a member twice (a reviewed bundle hiding "allow_rooted": true after
// false, say) fails naming the member by its path, from a file or from
// standard input, and the store is unchanged.
func TestBundleRepeatedMemberRefused(t *testing.T) {
	e := newEnv(t)
	e.ok("import", e.writeFile("b.json", bundleJS()))
	before := e.stateBytes()
	exportBefore := e.ok("export").stdout
	for _, tc := range []struct{ name, old, new, want string }{
		{"policy-flag", `"policy": {"android_min_security": "tee"}`,
			`"policy": {"allow_rooted": false, "android_min_security": "tee", "allow_rooted": true}`,
			"apps[0].policy.allow_rooted: repeated member"},
		{"policy-flag-escaped", `"policy": {"android_min_security": "tee"}`,
			`"policy": {"allow_rooted": false, "allow\u005frooted": true}`,
			"apps[0].policy.allow_rooted: repeated member"},
		{"app-account", `"account": "acme"`, `"account": "acme", "account": "other"`, "apps[0].account: repeated member"},
		{"upstream", `"upstream": "https://maps.example.com"`, `"upstream": "https://maps.example.com", "upstream": "https://evil.example"`,
			"accounts[0].apis[0].upstream: repeated member"},
		{"bans", `"bans": {`, `"bans": {"devices": []}, "bans": {`, "bans: repeated member"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bad := strings.Replace(bundleJS(), tc.old, tc.new, 1)
			if bad == bundleJS() {
				t.Fatal("case does not change the bundle")
			}
			e.fail(ExitFailure, []string{"import", e.writeFile("bad.json", bad)}, tc.want)
			if r := e.runIn(bad, "import", "-"); r.code != ExitFailure || !strings.Contains(r.stderr, tc.want) {
				t.Errorf("import -: exit %d, stderr %q", r.code, r.stderr)
			}
			if !bytes.Equal(e.stateBytes(), before) {
				t.Fatal("a refused import changed the store")
			}
		})
	}
	if e.ok("export").stdout != exportBefore {
		t.Fatal("export changed after refused imports")
	}
}
