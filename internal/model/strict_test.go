package model

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

// goodBundle is a small valid bundle with every kind of member: objects
// of struct type, maps, arrays, a secret (a type that decodes itself).
const goodBundle = `{
  "accounts": [{"id": "acme", "token": {"ttl": 300, "annotate": true},
    "keys": [{"kid": "k1", "alg": "HS256", "secret": "c2VjcmV0", "status": "active"}],
    "secrets": [{"name": "maps", "value": "v", "apps": ["com.example.shop"]}],
    "pins": {"api.example.com": ["cGlu"]},
    "apis": [{"name": "maps", "upstream": "https://maps.example.com", "inject": {"header": "X-Key", "secret": "maps"}}]}],
  "apps": [{"id": "com.example.shop", "account": "acme", "platform": "android",
    "signers": ["c2ln"], "versions": {"4.2.1": "Y29kZQ", "4.2.2": "Y29kZQ"},
    "policy": {"allow_rooted": false, "android_min_security": "tee"}}],
  "bans": {"devices": ["ZGlk"]}
}`

func decode(s string) (*Bundle, error) { return DecodeBundle(strings.NewReader(s)) }

// TestBundleRepeatedMemberRefused: a member given twice, at any depth, is
// an error naming it by its path; encoding/json would keep the last one,
// so a reviewed bundle could hide "allow_rooted": true after false.
func TestBundleRepeatedMemberRefused(t *testing.T) {
	for _, tc := range []struct{ name, old, new, want string }{
		{"policy-flag", `"allow_rooted": false`, `"allow_rooted": false, "allow_rooted": true`, "apps[0].policy.allow_rooted: repeated member"},
		{"policy-flag-escaped", `"allow_rooted": false`, `"allow_rooted": false, "allow\u005frooted": true`, "apps[0].policy.allow_rooted: repeated member"},
		{"policy-object", `"policy": {`, `"policy": {"allow_rooted": true}, "policy": {`, "apps[0].policy: repeated member"},
		{"top-level", `"bans": {`, `"apps": [], "bans": {`, "apps: repeated member"},
		{"key-secret", `"secret": "c2VjcmV0"`, `"secret": "c2VjcmV0", "secret": "b3RoZXI="`, "accounts[0].keys[0].secret: repeated member"},
		{"map-key", `"4.2.2": "Y29kZQ"`, `"4.2.1": "b3RoZXI"`, `apps[0].versions["4.2.1"]: repeated member`},
		{"pins-host", `"pins": {"api.example.com": ["cGlu"]`, `"pins": {"api.example.com": ["cGlu"], "api.example.com": []`, `accounts[0].pins["api.example.com"]: repeated member`},
		{"inject", `"secret": "maps"}`, `"secret": "maps", "header": "X-Other"}`, "accounts[0].apis[0].inject.header: repeated member"},
		{"bans", `"devices": ["ZGlk"]`, `"devices": ["ZGlk"], "devices": []`, "bans.devices: repeated member"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bad := strings.Replace(goodBundle, tc.old, tc.new, 1)
			if bad == goodBundle {
				t.Fatal("case does not change the bundle")
			}
			var loose Bundle
			if err := json.Unmarshal([]byte(bad), &loose); err != nil {
				t.Fatalf("encoding/json refuses the case itself: %v", err)
			}
			b, err := decode(bad)
			if b != nil || !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("DecodeBundle = %v, want an error naming %q", err, tc.want)
			}
		})
	}
}

// TestBundleUnknownMemberRefused: a member the bundle does not define is
// an error naming its path, also when it differs from a known one only in
// case (encoding/json would match it, case-folded, to the field).
func TestBundleUnknownMemberRefused(t *testing.T) {
	for _, tc := range []struct{ name, old, new, want string }{
		{"misspelt", `"allow_rooted": false`, `"allow_rootd": true`, "apps[0].policy.allow_rootd: unknown member"},
		{"case-variant", `"allow_rooted": false`, `"Allow_Rooted": true`, "apps[0].policy.Allow_Rooted: unknown member"},
		{"case-variant-after", `"allow_rooted": false`, `"allow_rooted": false, "ALLOW_ROOTED": true`, "apps[0].policy.ALLOW_ROOTED: unknown member"},
		{"kelvin-fold", `"kid": "k1"`, `"\u212aid": "k1"`, `accounts[0].keys[0]["\u212aid"]: unknown member`},
		{"top-level", `"bans": {`, `"extra": 1, "bans": {`, "extra: unknown member"},
		{"odd-name", `"bans": {`, `"a b\"c": 1, "bans": {`, `["a b\"c"]: unknown member`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bad := strings.Replace(goodBundle, tc.old, tc.new, 1)
			if bad == goodBundle {
				t.Fatal("case does not change the bundle")
			}
			if _, err := decode(bad); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("DecodeBundle = %v, want an error naming %q", err, tc.want)
			}
		})
	}
}

func TestBundleStrictReadsWhatEncodingJSONReads(t *testing.T) {
	b, err := decode(goodBundle)
	if err != nil {
		t.Fatal(err)
	}
	var want Bundle
	if err := json.Unmarshal([]byte(goodBundle), &want); err != nil {
		t.Fatal(err)
	}
	got, _ := json.Marshal(b)
	exp, _ := json.Marshal(&want)
	if !bytes.Equal(got, exp) || b.Accounts[0].Keys[0].Secret.Reveal() == nil || string(b.Accounts[0].Keys[0].Secret.Reveal()) != "c2VjcmV0" {
		t.Fatalf("strict decode differs:\n%s\n%s", got, exp)
	}
	if _, err := decode(`{}`); err != nil {
		t.Fatalf("empty bundle: %v", err)
	}
}

func TestBundleStrictBounds(t *testing.T) {
	deep := strings.Repeat("[", MaxDepth) + strings.Repeat("]", MaxDepth)
	many := &strings.Builder{}
	many.WriteString(`{"apps": [{"versions": {`)
	for i := range MaxMembers + 1 {
		if i > 0 {
			many.WriteByte(',')
		}
		many.WriteString(`"` + strings.Repeat("v", 1) + itoa(i) + `": ""`)
	}
	many.WriteString(`}}]}`)
	for _, tc := range []struct{ name, in, want string }{
		{"trailing-object", `{} {}`, "trailing data"},
		{"trailing-brace", `{}}`, "trailing data"},
		{"trailing-junk", `{}x`, "trailing data"},
		{"truncated", `{"apps": [`, "unexpected end"},
		{"syntax", `{"apps": [,]}`, "malformed JSON"},
		{"not-an-object", `[]`, "cannot unmarshal"},
		{"deep", `{"accounts": [{"pins": {"h": ` + deep + `}}]}`, "nested deeper than 32"},
		{"many-members", many.String(), `apps[0].versions: more than 65536 members`},
		{"too-large", `{"apps": [` + strings.Repeat(" ", MaxBundleBytes) + `]}`, "larger than"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := decode(tc.in); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("DecodeBundle = %v, want an error with %q", err, tc.want)
			}
		})
	}
}

func itoa(i int) string {
	b, _ := json.Marshal(i)
	return string(b)
}
