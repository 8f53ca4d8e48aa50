package api

import (
	"net/url"
	"strings"
	"testing"

	"github.com/attestd/attestd/internal/model"
)

func TestTargetPath(t *testing.T) {
	for _, tc := range []struct{ target, want string }{
		{"/v1/challenge", "/v1/challenge"},
		{"/v1/challenge?x=1&y=/z", "/v1/challenge"},
		{"/v1/./challenge", "/v1/./challenge"},
		{"//v1/challenge", "//v1/challenge"},
		{"/v1/%2e%2e/challenge", "/v1/%2e%2e/challenge"},
		{"/v1/challenge#frag", "/v1/challenge#frag"},
		{"http://host/v1/challenge", "/v1/challenge"},
		{"HTTPS://host:8443/v1/challenge?q", "/v1/challenge"},
		{"http://user@host/v1/attest", "/v1/attest"},
		{"http://host", ""},
		{"http://host?/v1/challenge", ""},
		{"http:///v1/challenge", ""},
		{"ftp://host/v1/challenge", ""},
		{"http:/v1/challenge", ""},
		{"*", ""},
		{"host:443", ""},
		{"", ""},
		{"?/v1/challenge", ""},
	} {
		if got := string(TargetPath([]byte(tc.target))); got != tc.want {
			t.Errorf("TargetPath(%q) = %q, want %q", tc.target, got, tc.want)
		}
	}
}

func TestMatchExactSegments(t *testing.T) {
	for _, tc := range []struct {
		path    string
		want    route
		account string
	}{
		{"/v1/challenge", routeChallenge, ""},
		{"/v1/attest", routeAttest, ""},
		{"/v1/accounts/acme/jwks.json", routeJWKS, "acme"},
		{"/v1/accounts/a%2Fb/jwks.json", routeJWKS, "a%2Fb"}, // one segment; accountID refuses it
		{"/v1/accounts/jwks.json", routeNone, ""},
		{"/v1/accounts/x/../jwks.json", routeNone, ""},
		{"/v1/accounts//jwks.json", routeJWKS, ""}, // empty account: accountID refuses it
		{"/v1/accounts/acme/jwks.json/", routeNone, ""},
		{"/v1/challenge/", routeNone, ""},
		{"/v1//challenge", routeNone, ""},
		{"//v1/challenge", routeNone, ""},
		{"/v1/./challenge", routeNone, ""},
		{"/v1/x/../challenge", routeNone, ""},
		{"/v1/%63hallenge", routeNone, ""},
		{"/V1/challenge", routeNone, ""},
		{"/v1/Challenge", routeNone, ""},
		{"v1/challenge", routeNone, ""},
		{"/v1/proxy/api/x", routeNone, ""},
		{"/", routeNone, ""},
		{"", routeNone, ""},
		{"/v1/a/b/c/d/e/f", routeNone, ""},
	} {
		got, acct := match([]byte(tc.path))
		if got != tc.want || string(acct) != tc.account {
			t.Errorf("match(%q) = %d %q, want %d %q", tc.path, got, acct, tc.want, tc.account)
		}
		if e := endpointOf([]byte(tc.path)); e != endpointNames[tc.want] {
			t.Errorf("endpointOf(%q) = %q", tc.path, e)
		}
	}
}

func TestAccountIDDecodesOnceAndRefusesWhatNoIDIs(t *testing.T) {
	long := strings.Repeat("a", model.MaxIDLen)
	for _, tc := range []struct {
		seg, want string
		ok        bool
	}{
		{"acme", "acme", true},
		{"%61cme", "acme", true},
		{"we%3Fird%25%23id", "we?ird%#id", true},
		{"%252e", "%2e", true}, // decoded once: the id "%2e", not a dot segment
		{"%2F", "", false},
		{"a%2fb", "", false},
		{"%5C", `\`, true}, // a backslash is a printable id byte; no store key splits on it
		{".", "", false},
		{"..", "", false},
		{"%2e", "", false},
		{"%2E%2e", "", false},
		{".%2E", "", false},
		{"...", "...", true},
		{"", "", false},
		{"%00", "", false},
		{"%20", "", false},
		{"%7F", "", false},
		{"%C3%A9", "", false},
		{"%", "", false},
		{"%4", "", false},
		{"%zz", "", false},
		{long, long, true},
		{long + "a", "", false},
		{"%61" + long[1:], long, true},
	} {
		var buf [model.MaxIDLen]byte
		id, ok := accountID([]byte(tc.seg), &buf)
		if ok != tc.ok || (ok && string(id) != tc.want) {
			t.Errorf("accountID(%q) = %q %v, want %q %v", tc.seg, id, ok, tc.want, tc.ok)
		}
	}
}

// FuzzAccountID holds accountID to two independent readings: net/url's
// decoder (a segment decoded once) and model.ValidateID (what an account
// id may be), less the dot segments.
func FuzzAccountID(f *testing.F) {
	for _, s := range []string{"acme", "%61cme", "%2e%2e", "%2F", "a%2fb", "%252e", "%00", "..", ".", "%", "%zz", strings.Repeat("%41", 129)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, seg string) {
		var buf [model.MaxIDLen]byte
		id, ok := accountID([]byte(seg), &buf)
		dec, err := url.PathUnescape(seg)
		want := err == nil && model.ValidateID("id", dec) == nil && dec != "." && dec != ".."
		if ok != want {
			t.Fatalf("accountID(%q) ok=%v, want %v (decoded %q, %v)", seg, ok, want, dec, err)
		}
		if ok && string(id) != dec {
			t.Fatalf("accountID(%q) = %q, net/url decodes %q", seg, id, dec)
		}
	})
}

// TestRoutingDoesNotAllocate: matching a path, whatever it holds, and
// decoding an account segment allocate nothing.
func TestRoutingDoesNotAllocate(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are meaningless under -race")
	}
	paths := [][]byte{[]byte("/v1/challenge"), []byte("/v1/attest"), []byte("/v1/accounts/we%3Fird/jwks.json"),
		[]byte("/v1/x/../challenge"), []byte("/" + strings.Repeat("a/", 2000)), []byte("http://h/v1/challenge?x")}
	var buf [model.MaxIDLen]byte
	n := testing.AllocsPerRun(200, func() {
		for _, p := range paths {
			if _, acct := match(TargetPath(p)); acct != nil {
				accountID(acct, &buf)
			}
		}
	})
	if n != 0 {
		t.Errorf("%v allocations per round of matches, want 0", n)
	}
}
