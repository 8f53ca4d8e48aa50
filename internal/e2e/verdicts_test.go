package e2e

import (
	"crypto/sha256"
	"encoding/base64"
	"reflect"
	"strings"
	"testing"

	"github.com/attestd/attestd/client"
	"github.com/attestd/attestd/internal/testenv"
)

// verdictCase is one named verdict: the request is built by the client for
// app (with edits), and the answer must pass or fail with exactly arc.
type verdictCase struct {
	name string
	app  string
	// banned makes the client attest with the fixture's banned device key.
	banned bool
	ev     client.Evidence
	mutate func(e *env, b map[string]any)
	arc    string // "" = pass
	// required: the answer must carry platform_attestation: required.
	required bool
}

func verdictCases() []verdictCase {
	set := func(path []string, v any) func(*env, map[string]any) {
		return func(_ *env, b map[string]any) {
			m := b
			for _, p := range path[:len(path)-1] {
				m = m[p].(map[string]any)
			}
			m[path[len(path)-1]] = v
		}
	}
	return []verdictCase{
		{name: "pass", app: testenv.App},
		{name: "pass/with-binding", app: testenv.App, ev: client.Evidence{Binding: []byte("Bearer abc")}},
		{name: "pass/allowed-integrity-flags", app: testenv.AppLenient, ev: client.Evidence{Integrity: client.Integrity{Rooted: true, Debugger: true, Hooked: true, Emulator: true}}},
		{name: "fail/app-unknown", app: "com.example.nobody", arc: "app_unknown"},
		{name: "fail/platform-mismatch", app: testenv.App, mutate: set([]string{"app", "platform"}, "ios"), arc: "platform_mismatch"},
		{name: "fail/signer-mismatch", app: testenv.App, mutate: set([]string{"app", "signer"}, b64uDigest("other signer")), arc: "signer_mismatch"},
		{name: "fail/version-unknown", app: testenv.App, mutate: set([]string{"app", "version"}, "9.9.9"), arc: "version_unknown"},
		{name: "fail/measurement-mismatch", app: testenv.App, mutate: set([]string{"app", "measurement"}, b64uDigest("wrong")), arc: "measurement_mismatch"},
		{name: "fail/rooted", app: testenv.App, ev: client.Evidence{Integrity: client.Integrity{Rooted: true}}, arc: "rooted"},
		{name: "fail/debugger", app: testenv.App, ev: client.Evidence{Integrity: client.Integrity{Debugger: true}}, arc: "debugger"},
		{name: "fail/hooked", app: testenv.App, ev: client.Evidence{Integrity: client.Integrity{Hooked: true}}, arc: "hooked"},
		{name: "fail/emulator", app: testenv.App, ev: client.Evidence{Integrity: client.Integrity{Emulator: true}}, arc: "emulator"},
		{name: "fail/several-reasons", app: testenv.App, ev: client.Evidence{Integrity: client.Integrity{Rooted: true, Emulator: true}},
			mutate: set([]string{"app", "version"}, "0.0.1"), arc: "version_unknown,rooted,emulator"},
		{name: "fail/platform-attestation-missing", app: testenv.AppStrict, arc: "platform_attestation_missing", required: true},
		{name: "fail/platform-attestation-invalid", app: testenv.App,
			mutate: set([]string{"platform_attestation"}, map[string]any{"format": "android-key", "chain": []string{"AAAA"}}), arc: "platform_attestation_invalid"},
		{name: "fail/platform-attestation-undecodable-required", app: testenv.AppStrict,
			mutate: set([]string{"platform_attestation"}, map[string]any{"format": "receipt", "receipt": "%%%"}), arc: "platform_attestation_invalid", required: true},
		{name: "fail/device-banned", app: testenv.App, banned: true, arc: "device_banned"},
		{name: "fail/debug-token-unknown", app: testenv.App, mutate: set([]string{"debug_token"}, "adt_"+strings.Repeat("A", 43)),
			arc: "debug_token_invalid"},
	}
}

func b64uDigest(s string) string {
	d := sha256.Sum256([]byte(s))
	return base64.RawURLEncoding.EncodeToString(d[:])
}

// runVerdicts runs every verdict case against node over tr and checks the
// tokens with golang-jwt (algorithm pinned).
func runVerdicts(t *testing.T, tr Transport, f *testenv.Fixture, node *testenv.Node) {
	e0 := &env{t: t, f: f, node: node, tr: tr}
	passHeader := header(t, mustPass(e0).Token)
	for _, tc := range verdictCases() {
		t.Run(tc.name, func(t *testing.T) {
			e := &env{t: t, f: f, node: node, tr: tr}
			c := e.client(tc.app)
			if tc.banned {
				var err error
				if c, err = client.New(client.Config{BaseURL: e.base(), App: f.ClientApp(tc.app), HTTP: tr.HTTP, DeviceKey: f.Banned, Now: node.Clock.Now}); err != nil {
					t.Fatal(err)
				}
			}
			body := e.body(c, e.nonce(c), tc.ev)
			if tc.mutate != nil {
				body = edited(t, body, func(b map[string]any) { tc.mutate(e, b) })
			}
			v := decodeVerdict(t, e.attest(c, body))
			cl, err := verifyHS(v.Token, f.HSKey, testenv.Account)
			if tc.arc == "" {
				if err != nil {
					t.Fatalf("passing token does not verify: %v", err)
				}
			} else {
				if err == nil {
					t.Fatal("a failed verdict's token verifies with the account key")
				}
				cl = unverifiedClaims(t, v.Token)
			}
			if cl.ExpiresAt == nil || v.ExpiresAt != cl.ExpiresAt.Unix() {
				t.Errorf("expires_at %d != exp %v", v.ExpiresAt, cl.ExpiresAt)
			}
			if cl.Subject != tc.app || cl.Issuer != "attestd" || cl.ID == "" || cl.DID != c.DID() {
				t.Errorf("claims sub=%q iss=%q jti=%q did=%q", cl.Subject, cl.Issuer, cl.ID, cl.DID)
			}
			if jti, err := base64.RawURLEncoding.DecodeString(cl.ID); err != nil || len(jti) != 16 {
				t.Errorf("jti %q is not b64u of 16 bytes", cl.ID)
			}
			if tc.arc == "app_unknown" {
				checkUnknown(t, v, cl)
				return
			}
			if got := header(t, v.Token); !reflect.DeepEqual(got, passHeader) {
				t.Errorf("header %v differs from a passing token's %v", got, passHeader)
			}
			if cl.Audience[0] != testenv.Account || cl.ExpiresAt.Unix()-cl.IssuedAt.Unix() != 300 {
				t.Errorf("aud %v, ttl %d", cl.Audience, cl.ExpiresAt.Unix()-cl.IssuedAt.Unix())
			}
			if cl.Arc == nil || !arcMatches(*cl.Arc, tc.arc) {
				t.Errorf("arc = %v, want %q", deref(cl.Arc), tc.arc)
			}
			if !reflect.DeepEqual(v.Pins, map[string][]string{testenv.PinHost: f.Pins}) {
				t.Errorf("pins = %v", v.Pins)
			}
			if tc.ev.Binding != nil {
				sum := sha256.Sum256(tc.ev.Binding)
				if cl.Pay == nil || *cl.Pay != base64.RawURLEncoding.EncodeToString(sum[:]) {
					t.Errorf("pay = %v", deref(cl.Pay))
				}
			} else if cl.Pay != nil {
				t.Errorf("pay %q without binding", *cl.Pay)
			}
			if _, has := v.raw["platform_attestation"]; has != tc.required {
				t.Errorf("platform_attestation present=%v, want %v (%s)", has, tc.required, v.PlatformAttestation)
			}
			if tc.required && v.PlatformAttestation != "required" {
				t.Errorf("platform_attestation = %q", v.PlatformAttestation)
			}
			if _, has := v.raw["secrets"]; has {
				t.Error("secrets without want_secrets")
			}
		})
	}
}

func checkUnknown(t *testing.T, v verdict, cl *claims) {
	t.Helper()
	if _, has := v.raw["pins"]; has {
		t.Error("app_unknown answer has pins")
	}
	if cl.Audience[0] != "unknown" || cl.Arc != nil || cl.ExpiresAt.Unix()-cl.IssuedAt.Unix() != 300 {
		t.Errorf("decoy aud=%v arc=%v ttl=%d", cl.Audience, deref(cl.Arc), cl.ExpiresAt.Unix()-cl.IssuedAt.Unix())
	}
	h := header(t, v.Token)
	if h["alg"] != "HS256" || h["typ"] != "JWT" || h["kid"] == "" {
		t.Errorf("decoy header %v", h)
	}
}

func mustPass(e *env) verdict {
	c := e.client(testenv.App)
	return decodeVerdict(e.t, e.attest(c, e.body(c, e.nonce(c), client.Evidence{})))
}

func deref(s *string) any {
	if s == nil {
		return nil
	}
	return *s
}

// protocolReasons are the reason names of PROTOCOL.md §2.
var protocolReasons = map[string]bool{
	"app_unknown": true, "platform_mismatch": true, "signer_mismatch": true, "version_unknown": true,
	"measurement_mismatch": true, "rooted": true, "debugger": true, "hooked": true, "emulator": true,
	"platform_attestation_missing": true, "platform_attestation_invalid": true,
	"platform_attestation_expired": true, "device_banned": true, "debug_token_invalid": true,
}

// arcMatches reports whether arc names exactly the §2 reasons of want, in
// order; precise reasons the project documents may follow a platform
// attestation reason (§7), never stand alone.
func arcMatches(arc, want string) bool {
	if arc == want {
		return true
	}
	var got []string
	for _, r := range strings.Split(arc, ",") {
		if protocolReasons[r] {
			got = append(got, r)
		} else if len(got) == 0 || !strings.HasPrefix(got[len(got)-1], "platform_attestation_") {
			return false
		}
	}
	return strings.Join(got, ",") == want
}
