package attest

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/attestd/attestd/internal/apierr"
	"github.com/attestd/attestd/verify/platform"
)

func b64u(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

var d32 = b64u(strings.Repeat("d", 32))

func validBody() string {
	return `{"nonce":"v1.n1.abc","app":{"id":"com.x","version":"1.0","platform":"android","signer":"` + d32 +
		`","measurement":"` + d32 + `"},"device":{"key":"` + b64u("keybytes") + `","integrity":{"rooted":true}},` +
		`"binding":"` + d32 + `","want_secrets":true,"platform_attestation":{"format":"receipt","receipt":"r"},"extra":[1,{"a":null}]}`
}

func TestParseRequestReadsEveryField(t *testing.T) {
	var r Request
	if err := ParseRequest([]byte(validBody()), &r); err != nil {
		t.Fatal(err)
	}
	if string(r.Nonce) != "v1.n1.abc" || string(r.AppID) != "com.x" || string(r.Version) != "1.0" ||
		string(r.Platform) != "android" || string(r.DeviceKey) != "keybytes" || !r.Integrity.Rooted ||
		r.Integrity.Debugger || !r.WantSecrets || string(r.Binding) != d32 ||
		string(r.PlatformAttestation) != `{"format":"receipt","receipt":"r"}` {
		t.Fatalf("parsed %+v", r)
	}
	if r.Signer != [32]byte([]byte(strings.Repeat("d", 32))) {
		t.Fatal("signer")
	}
}

func TestParseRequestUnescapesLikeEncodingJSON(t *testing.T) {
	body := strings.Replace(validBody(), `"id":"com.x"`, `"\u0069d":"com.\u00e9\ud83d\ude00\"x"`, 1)
	var r Request
	if err := ParseRequest([]byte(body), &r); err != nil {
		t.Fatal(err)
	}
	var std struct {
		App struct {
			ID string `json:"id"`
		} `json:"app"`
	}
	if err := json.Unmarshal([]byte(body), &std); err != nil {
		t.Fatal(err)
	}
	if string(r.AppID) != std.App.ID {
		t.Fatalf("app.id %q, encoding/json reads %q", r.AppID, std.App.ID)
	}
}

func TestParseRequestErrorsNameTheField(t *testing.T) {
	for _, tc := range []struct{ name, body, field string }{
		{"syntax", `{"nonce":`, "malformed JSON"},
		{"trailing", validBody() + `{}`, "trailing"},
		{"array", `[]`, "body"},
		{"missing-nonce", strings.Replace(validBody(), `"nonce":"v1.n1.abc",`, "", 1), "nonce"},
		{"duplicate-nonce", strings.Replace(validBody(), `"nonce":"v1.n1.abc",`, `"nonce":"a","nonce":"b",`, 1), "nonce"},
		{"app-not-object", strings.Replace(validBody(), `"app":{`, `"app":7,"x":{`, 1), "app"},
		{"signer-short", strings.Replace(validBody(), `"signer":"`+d32, `"signer":"`+b64u("short"), 1), "app.signer"},
		{"key-padding", strings.Replace(validBody(), b64u("keybytes"), base64.URLEncoding.EncodeToString([]byte("keybytes")), 1), "device.key"},
		{"flag-string", strings.Replace(validBody(), `"rooted":true`, `"rooted":"true"`, 1), "device.integrity.rooted"},
		{"pa-string", strings.Replace(validBody(), `"platform_attestation":{"format":"receipt","receipt":"r"}`, `"platform_attestation":"x"`, 1), "platform_attestation"},
		{"control-char", strings.Replace(validBody(), `"com.x"`, "\"com.\x01x\"", 1), "malformed JSON"},
		// A string that is not Unicode is refused wherever it stands, read or
		// skipped: a lone surrogate escape (which another parser reads as
		// U+FFFD, or refuses) or a byte of invalid UTF-8.
		{"lone-surrogate-in-unknown-member", strings.Replace(validBody(), `"extra":[1,`, `"extra":["\ud800x",`, 1), "malformed JSON"},
		{"lone-surrogate-in-unknown-name", strings.Replace(validBody(), `"extra":`, `"\udc00":`, 1), "malformed JSON"},
		{"lone-surrogate-in-platform-attestation", strings.Replace(validBody(), `"receipt":"r"`, `"receipt":"r","x":"\ud83d"`, 1), "malformed JSON"},
		{"invalid-utf8-in-unknown-member", strings.Replace(validBody(), `"extra":[1,`, "\"extra\":[\"\xed\xa0\x80\",", 1), "malformed JSON"},
		{"deep", `{"x":` + strings.Repeat("[", 100) + strings.Repeat("]", 100) + `}`, "malformed JSON"},
		{"debug-token-number", withDebugToken(`47`), "debug_token"},
		{"debug-token-object", withDebugToken(`{"token":"adt_x"}`), "debug_token"},
		{"debug-token-twice", withDebugToken(`"adt_a","debug_token":"adt_b"`), "debug_token"},
		{"debug-token-twice-escaped", withDebugToken(`"adt_a","debug\u005ftoken":null`), "debug_token"},
		{"debug-token-too-long", withDebugToken(`"` + strings.Repeat("a", MaxDebugTokenBytes+1) + `"`), "debug_token"},
		{"debug-token-too-long-escaped", withDebugToken(`"` + strings.Repeat(`\u0061`, MaxDebugTokenBytes+1) + `"`), "debug_token"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var r Request
			err := ParseRequest([]byte(tc.body), &r)
			if !errors.Is(err, apierr.ErrBadRequest) {
				t.Fatalf("err = %v, want bad_request", err)
			}
			if msg := apierr.From(err).Message; !strings.Contains(msg, tc.field) {
				t.Fatalf("message %q does not name %q", msg, tc.field)
			}
		})
	}
}

// withDebugToken is validBody with a debug_token member of JSON value v.
func withDebugToken(v string) string {
	return strings.Replace(validBody(), `"want_secrets":true`, `"want_secrets":true,"debug_token":`+v, 1)
}

func TestParseRequestReadsDebugToken(t *testing.T) {
	tok := "adt_" + strings.Repeat("Q", 43)
	for _, tc := range []struct {
		name, value string
		has         bool
		want        string
	}{
		{"absent", "", false, ""},
		{"null", "null", false, ""},
		{"token", `"` + tok + `"`, true, tok},
		{"escaped", `"\u0061dt_` + strings.Repeat("Q", 43) + `"`, true, tok},
		{"empty", `""`, true, ""},
		{"longest", `"` + strings.Repeat("z", MaxDebugTokenBytes) + `"`, true, strings.Repeat("z", MaxDebugTokenBytes)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body := validBody()
			if tc.value != "" {
				body = withDebugToken(tc.value)
			}
			var r Request
			if err := ParseRequest([]byte(body), &r); err != nil {
				t.Fatal(err)
			}
			if r.HasDebugToken != tc.has || string(r.DebugToken) != tc.want {
				t.Fatalf("debug token %v %q, want %v %q", r.HasDebugToken, r.DebugToken, tc.has, tc.want)
			}
		})
	}
}

func TestParseRequestDoesNotAllocate(t *testing.T) {
	for _, body := range []string{validBody(), withDebugToken(`"adt_` + strings.Repeat("Q", 43) + `"`)} {
		b := []byte(body)
		var r Request
		allocs := testing.AllocsPerRun(100, func() {
			if err := ParseRequest(b, &r); err != nil {
				t.Fatal(err)
			}
		})
		if allocs != 0 {
			t.Fatalf("ParseRequest allocates %v times per call", allocs)
		}
	}
}

// FuzzParseRequest: the parser never panics, and whatever it accepts,
// encoding/json accepts as well (no parser differential on valid input).
func FuzzParseRequest(f *testing.F) {
	f.Add([]byte(validBody()))
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"nonce":"\ud800"}`))
	f.Add([]byte(`{"app":{"id":"a\u0000"},"device":{"integrity":null}}`))
	f.Add([]byte(`{"a":[1e5,-0.5,true,false,null,{"b":[]}]}`))
	f.Add([]byte(withDebugToken(`"adt_` + strings.Repeat("Q", 43) + `"`)))
	f.Add([]byte(withDebugToken(`"\ud800adt_"`)))
	f.Add([]byte(`{"platform_attestation":{"format":"android-key","chain":["MAA",null],"x":[[[]]],"k\u0065y_id":"\u0041"}}`))
	f.Add([]byte(`{"platform_attestation":{"format":"receipt","receipt":"r","format":1,"chain":{}}}`))
	f.Add([]byte("{\"platform_attestation\":{\"x\":\"\xff\"}}"))
	f.Fuzz(func(t *testing.T, body []byte) {
		var r Request
		if err := ParseRequest(body, &r); err != nil {
			return
		}
		checkEvidenceAsParsed(t, &r)
		if !json.Valid(body) {
			t.Fatalf("accepted invalid JSON %q", body)
		}
		if r.Nonce == nil || len(r.Signer) != 32 {
			t.Fatal("accepted without required fields")
		}
		var members map[string]json.RawMessage
		if err := json.Unmarshal(body, &members); err != nil {
			t.Fatal(err)
		}
		var std *string
		if raw, ok := members["debug_token"]; ok {
			_ = json.Unmarshal(raw, &std)
		}
		if (std != nil) != r.HasDebugToken || std != nil && utf8.Valid(r.DebugToken) && *std != string(r.DebugToken) {
			t.Fatalf("debug_token %v %q; encoding/json reads %v", r.HasDebugToken, r.DebugToken, std)
		}
		if len(r.DebugToken) > MaxDebugTokenBytes {
			t.Fatalf("a %d-byte debug_token", len(r.DebugToken))
		}
	})
}

func TestIsJSON(t *testing.T) {
	for ct, want := range map[string]bool{
		"application/json": true, "Application/JSON": true, "application/json; charset=utf-8": true,
		"application/json ;charset=utf-8": true, "": false, "text/plain": false, "application/jsonx": false,
		"application/json-patch+json": false, "application/js": false,
	} {
		if got := IsJSON([]byte(ct)); got != want {
			t.Errorf("IsJSON(%q) = %v, want %v", ct, got, want)
		}
	}
}

// FuzzEvidenceScanAgrees: ParseRequest reads the platform_attestation
// object with verify/platform's ScanEvidence (so that those bytes are read
// once) and skips other values with skipValue; the two refuse the same
// bytes as syntax, with the same bound on nesting.
func FuzzEvidenceScanAgrees(f *testing.F) {
	for _, s := range []string{
		`{"format":"android-key","chain":["MAA",null],"x":[[[]]],"k\u0065y_id":"\u0041"}`,
		`{"format":"receipt","receipt":"r","format":1,"chain":{}}`, "{\"x\":\"\xff\"}", `{"a":"\ud800"}`,
		`{"a":[1e5,-0.5,true,false,null,{"b":[]}]} `, `{"a":01}`, `{"a" 1}`, `{"a":"\x"}`, "{\"a\":\"\x01\"}",
		`{"x":` + strings.Repeat("[", 30) + strings.Repeat("]", 30) + `}`, `{"x":` + strings.Repeat("[", 31) + strings.Repeat("]", 31) + `}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) == 0 || b[0] != '{' {
			return
		}
		end, err := skipValue(b, 0, 1)
		old := err == nil
		var w platform.Wire
		n, err := platform.ScanEvidence(b, 0, platform.ScanLimits{Depth: evidenceDepth, UTF8: true}, &w)
		if now := err == nil; now != old || now && n != end {
			t.Fatalf("%q: ScanEvidence %v (%d), the body's scanner %v (%d)", b, err, n, old, end)
		}
	})
}

// checkEvidenceAsParsed: the evidence the core read with the body decodes
// as verify/platform.ParseEvidence decodes the object alone.
func checkEvidenceAsParsed(t *testing.T, r *Request) {
	t.Helper()
	if r.PlatformAttestation == nil {
		return
	}
	got, err := r.Evidence.Evidence()
	want, wantErr := platform.ParseEvidence(r.PlatformAttestation)
	if platform.Reason(err) != platform.Reason(wantErr) || !reflect.DeepEqual(got, want) {
		t.Fatalf("evidence read with the body: %+v (%v); alone: %+v (%v)", got, err, want, wantErr)
	}
}

// TestParseRequestReadsEveryOptionalField: scanObject skips, without
// asking its reader, a name of a length no field has (bodyKeys and the
// others), so every field, optional ones included, must still be read.
func TestParseRequestReadsEveryOptionalField(t *testing.T) {
	body := strings.Replace(validBody(), `"integrity":{"rooted":true}`,
		`"integrity":{"rooted":true,"debugger":true,"hooked":true,"emulator":true}`, 1)
	body = strings.Replace(body, `"want_secrets":true`, `"want_secrets":true,"pop":true,"debug_token":"adt_x"`, 1)
	var r Request
	if err := ParseRequest([]byte(body), &r); err != nil {
		t.Fatal(err)
	}
	if !r.PoP || !r.HasDebugToken || string(r.DebugToken) != "adt_x" ||
		r.Integrity != (Integrity{Rooted: true, Debugger: true, Hooked: true, Emulator: true}) {
		t.Fatalf("parsed %+v", r)
	}
}
