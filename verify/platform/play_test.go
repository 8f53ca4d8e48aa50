package platform_test

import (
	"crypto/x509"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/attestd/attestd/crypto/receipt"
	"github.com/attestd/attestd/verify/devicekey"
	"github.com/attestd/attestd/verify/platform"
	"github.com/attestd/attestd/verify/playintegrity"
	"github.com/attestd/attestd/verify/playintegrity/playtest"
)

// playEnv is env with the app's Play Console keys.
func playEnv(t *testing.T) (*env, *playtest.Issuer) {
	t.Helper()
	e := newEnv(t)
	iss, err := playtest.NewIssuer()
	if err != nil {
		t.Fatal(err)
	}
	e.trust.NonceTTL = time.Minute
	return e, iss
}

func (e *env) playJSON(t *testing.T, iss *playtest.Issuer, v playtest.Verdict) []byte {
	t.Helper()
	tok, err := iss.Token(v.JSON())
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(map[string]any{"format": "play-integrity", "token": tok})
	return b
}

func (e *env) playPass(t *testing.T) playtest.Verdict {
	t.Helper()
	spki, err := x509.MarshalPKIXPublicKey(e.pub)
	if err != nil {
		t.Fatal(err)
	}
	return playtest.Pass("com.example.shop", e.signer, []byte(nonce), spki, now)
}

func TestVerifyPlayIntegrity(t *testing.T) {
	e, iss := playEnv(t)
	rawPoint, err := devicekey.Parse(pointOf(t, e.pub))
	if err != nil {
		t.Fatal(err)
	}
	pointNonce := e.playPass(t)
	pointNonce.Nonce = playintegrity.Nonce([]byte(nonce), pointOf(t, e.pub))
	strong := platform.Policy{PlayMinDevice: "strong", PlayRequireLicensed: true, PlayRequirePlayProtect: true}
	for _, tc := range []struct {
		name     string
		raw      []byte
		platform string
		device   *devicekey.Key
		keys     *playintegrity.KeySet
		policy   platform.Policy
		reason   string
	}{
		{name: "pass", raw: e.playJSON(t, iss, e.playPass(t)), platform: "android", keys: iss.KeySet(), policy: strong},
		{name: "pass/device-key-sent-as-raw-point", raw: e.playJSON(t, iss, e.playPass(t)), platform: "android", device: &rawPoint, keys: iss.KeySet()},
		{name: "fail/nonce-over-the-raw-point", raw: e.playJSON(t, iss, pointNonce), platform: "android", device: &rawPoint, keys: iss.KeySet(), reason: "play_nonce"},
		{name: "fail/play-token-for-ios-app", raw: e.playJSON(t, iss, e.playPass(t)), platform: "ios", keys: iss.KeySet(), reason: "platform_format"},
		{name: "fail/app-without-keys", raw: e.playJSON(t, iss, e.playPass(t)), platform: "android", reason: "play_unconfigured"},
		{name: "fail/token-missing", raw: []byte(`{"format":"play-integrity"}`), platform: "android", keys: iss.KeySet(), reason: "play_malformed"},
		{name: "fail/token-not-a-string", raw: []byte(`{"format":"play-integrity","token":{"a":1}}`), platform: "android", keys: iss.KeySet(), reason: "platform_malformed"},
		{name: "fail/token-too-long", raw: []byte(`{"format":"play-integrity","token":"` + strings.Repeat("A", playintegrity.MaxToken+1) + `"}`),
			platform: "android", keys: iss.KeySet(), reason: "play_malformed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := e.request(tc.platform)
			if tc.device != nil {
				req.Device = *tc.device
			}
			req.PlayKeys = tc.keys
			var got platform.Findings
			ev, err := platform.ParseEvidence(tc.raw)
			if err == nil {
				got, err = platform.Verify(req, ev, tc.policy, e.trust, now)
			}
			if r := platform.Reason(err); r != tc.reason {
				t.Fatalf("reason %q (%v), want %q", r, err, tc.reason)
			}
			if tc.reason != "" {
				return
			}
			want := platform.Findings{Format: "play-integrity", Play: playintegrity.Verdicts{
				Labels: playintegrity.AllLabels, Recognized: true, Licensed: true, PlayProtect: true}}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("Findings = %+v, want %+v", got, want)
			}
			// The policy a receipt is checked against is the same one.
			if err := receipt.MeetsPolicy(receipt.Receipt{Format: got.Format, Play: receipt.PlayVerdicts{
				Basic: true, Device: true, Strong: true, Recognized: true, Licensed: true, PlayProtect: true}}, receipt.Policy{PlayMinDevice: tc.policy.PlayMinDevice,
				PlayRequireLicensed: tc.policy.PlayRequireLicensed, PlayAllowUnrecognized: tc.policy.PlayAllowUnrecognized,
				PlayRequirePlayProtect: tc.policy.PlayRequirePlayProtect}); err != nil {
				t.Errorf("receipt of these findings fails the same policy: %v", err)
			}
		})
	}
}

// TestPlayTimestampUsesTheNonceLifetime: the deployment's nonce lifetime
// decides how old a token may be; a Trust that names none uses 60 s.
func TestPlayTimestampUsesTheNonceLifetime(t *testing.T) {
	e, iss := playEnv(t)
	v := e.playPass(t)
	v.Timestamp = now.Add(-90 * time.Second)
	ev, err := platform.ParseEvidence(e.playJSON(t, iss, v))
	if err != nil {
		t.Fatal(err)
	}
	req := e.request("android")
	req.PlayKeys = iss.KeySet()
	for ttl, want := range map[time.Duration]string{0: "play_stale", time.Minute: "play_stale", 2 * time.Minute: ""} {
		e.trust.NonceTTL = ttl
		_, err := platform.Verify(req, ev, platform.Policy{}, e.trust, now)
		if r := platform.Reason(err); r != want {
			t.Errorf("nonce TTL %v: reason %q (%v), want %q", ttl, r, err, want)
		}
	}
}
