package platform_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/attestd/attestd/crypto/receipt"
	"github.com/attestd/attestd/verify/androidkey"
	"github.com/attestd/attestd/verify/appleattest"
	"github.com/attestd/attestd/verify/devicekey"
	"github.com/attestd/attestd/verify/platform"
	"github.com/attestd/attestd/verify/platformtest"
)

var now = time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)

const nonce = "v1.k1.some-nonce"

type env struct {
	android *platformtest.AndroidCA
	apple   *platformtest.AppleCA
	trust   platform.Trust
	device  devicekey.Key
	pub     *ecdsa.PublicKey
	signer  [32]byte
}

func newEnv(t *testing.T) *env {
	t.Helper()
	a, err := platformtest.NewAndroidCA()
	if err != nil {
		t.Fatal(err)
	}
	i, err := platformtest.NewAppleCA()
	if err != nil {
		t.Fatal(err)
	}
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	spki, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	d, err := devicekey.Parse(spki)
	if err != nil {
		t.Fatal(err)
	}
	return &env{android: a, apple: i, device: d, pub: &k.PublicKey, signer: sha256.Sum256([]byte("cert")),
		trust: platform.Trust{AndroidRoots: a.Roots(), AppleRoots: i.Roots()}}
}

func (e *env) androidJSON(t *testing.T, mod func(*platformtest.AndroidLeaf)) []byte {
	t.Helper()
	l := platformtest.AndroidLeaf{DeviceKey: e.pub, Challenge: platformtest.AndroidChallenge([]byte(nonce)), Package: "com.example.shop", Signer: e.signer}
	if mod != nil {
		mod(&l)
	}
	chain, err := e.android.Issue(l)
	if err != nil {
		t.Fatal(err)
	}
	var enc []string
	for _, c := range chain {
		enc = append(enc, base64.RawURLEncoding.EncodeToString(c))
	}
	b, _ := json.Marshal(map[string]any{"format": "android-key", "chain": enc})
	return b
}

func (e *env) appleJSON(t *testing.T, mod func(*platformtest.AppleAttestation)) []byte {
	t.Helper()
	a := platformtest.AppleAttestation{ClientDataHash: platform.ClientDataHash([]byte(nonce), e.device), TeamID: "TEAM123456", AppID: "com.example.ios"}
	if mod != nil {
		mod(&a)
	}
	keyID, obj, err := e.apple.Attest(a)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(map[string]any{"format": "apple-appattest", "key_id": base64.RawURLEncoding.EncodeToString(keyID),
		"attestation": base64.RawURLEncoding.EncodeToString(obj), "unknown": 1})
	return b
}

func (e *env) request(p string) platform.Request {
	r := platform.Request{Platform: p, Nonce: []byte(nonce), Signer: e.signer, Device: e.device}
	if p == platform.PlatformIOS {
		r.AppID, r.TeamID = "com.example.ios", "TEAM123456"
	} else {
		r.AppID = "com.example.shop"
	}
	return r
}

func TestVerify(t *testing.T) {
	e := newEnv(t)
	for _, tc := range []struct {
		name     string
		raw      []byte
		platform string
		policy   platform.Policy
		reason   string // "" passes
		want     platform.Findings
	}{
		{name: "pass/android", raw: e.androidJSON(t, nil), platform: "android",
			want: platform.Findings{Format: "android-key", SecurityLevel: "tee", BootState: "verified", DeviceLocked: true, AttestationVersion: 300}},
		{name: "pass/android-strongbox", raw: e.androidJSON(t, func(l *platformtest.AndroidLeaf) {
			l.AttestationSecurity, l.KeyMintSecurity = androidkey.LevelStrongBox, androidkey.LevelStrongBox
		}), platform: "android", policy: platform.Policy{AndroidMinSecurity: "strongbox"},
			want: platform.Findings{Format: "android-key", SecurityLevel: "strongbox", BootState: "verified", DeviceLocked: true, AttestationVersion: 300}},
		{name: "pass/android-unlocked-allowed", raw: e.androidJSON(t, func(l *platformtest.AndroidLeaf) {
			l.Unlocked, l.BootState = true, androidkey.BootUnverified
		}), platform: "android", policy: platform.Policy{AllowUnlockedBootloader: true},
			want: platform.Findings{Format: "android-key", SecurityLevel: "tee", BootState: "unverified", AttestationVersion: 300}},
		{name: "pass/apple", raw: e.appleJSON(t, nil), platform: "ios",
			want: platform.Findings{Format: "apple-appattest", Environment: "production"}},
		{name: "pass/apple-development-allowed", raw: e.appleJSON(t, func(a *platformtest.AppleAttestation) { a.AAGUID = platformtest.AAGUIDDevelopment }),
			platform: "ios", policy: platform.Policy{AllowAppAttestDevelopment: true},
			want: platform.Findings{Format: "apple-appattest", Environment: "development"}},
		{name: "fail/android-evidence-for-ios-app", raw: e.androidJSON(t, nil), platform: "ios", reason: "platform_format"},
		{name: "fail/apple-evidence-for-android-app", raw: e.appleJSON(t, nil), platform: "android", reason: "platform_format"},
		{name: "fail/android-tee-under-strongbox-policy", raw: e.androidJSON(t, nil), platform: "android",
			policy: platform.Policy{AndroidMinSecurity: "strongbox"}, reason: "android_security_level"},
		{name: "fail/android-bad-policy", raw: e.androidJSON(t, nil), platform: "android",
			policy: platform.Policy{AndroidMinSecurity: "titan"}, reason: "android_policy"},
		{name: "fail/android-other-nonce", raw: e.androidJSON(t, func(l *platformtest.AndroidLeaf) {
			l.Challenge = platformtest.AndroidChallenge([]byte("old nonce"))
		}), platform: "android", reason: "android_challenge"},
		{name: "fail/apple-development-refused", raw: e.appleJSON(t, func(a *platformtest.AppleAttestation) { a.AAGUID = platformtest.AAGUIDDevelopment }),
			platform: "ios", reason: "apple_aaguid"},
		{name: "fail/apple-client-data-of-raw-point", raw: e.appleJSON(t, func(a *platformtest.AppleAttestation) {
			a.ClientDataHash = sha256.Sum256(append([]byte(nonce), pointOf(t, e.pub)...))
		}), platform: "ios", reason: "apple_nonce"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ev, err := platform.ParseEvidence(tc.raw)
			if err != nil {
				t.Fatal(err)
			}
			got, err := platform.Verify(e.request(tc.platform), ev, tc.policy, e.trust, now)
			if r := platform.Reason(err); r != tc.reason {
				t.Fatalf("reason %q (%v), want %q", r, err, tc.reason)
			}
			if tc.reason != "" {
				return
			}
			if got.Format == platform.FormatAndroidKey && (len(got.Serials) != 3 || got.Attested.BootState.String() != got.BootState || !got.Attested.HasVersionCode) {
				t.Errorf("android §9 findings: serials %x, attested %+v", got.Serials, got.Attested)
			}
			got.Serials, got.Attested = nil, androidkey.Attested{} // androidkey's tests check them
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Findings = %+v, want %+v", got, tc.want)
			}
			// What Findings holds is what a receipt records, and it meets
			// the same policy when checked as a receipt.
			r := receipt.Receipt{AppID: "a", DID: e.device.DID(), Format: got.Format, SecurityLevel: got.SecurityLevel,
				BootState: got.BootState, DeviceLocked: got.DeviceLocked, Environment: got.Environment}
			rp := receipt.Policy{AndroidMinSecurity: tc.policy.AndroidMinSecurity, AllowUnlockedBootloader: tc.policy.AllowUnlockedBootloader,
				AllowAppAttestDevelopment: tc.policy.AllowAppAttestDevelopment}
			if err := receipt.MeetsPolicy(r, rp); err != nil {
				t.Errorf("receipt of these findings fails the same policy: %v", err)
			}
		})
	}
}

func pointOf(t *testing.T, pub *ecdsa.PublicKey) []byte {
	t.Helper()
	k, err := pub.ECDH()
	if err != nil {
		t.Fatal(err)
	}
	return k.Bytes()
}

func TestParseEvidence(t *testing.T) {
	ev, err := platform.ParseEvidence([]byte(`{"format":"receipt","receipt":"r1.k.b.m"}`))
	if err != nil || ev.Format != platform.FormatReceipt || ev.Receipt != "r1.k.b.m" {
		t.Fatalf("receipt: %+v, %v", ev, err)
	}
	if _, err := platform.Verify(platform.Request{Platform: "android"}, ev, platform.Policy{}, platform.Trust{}, now); !errors.Is(err, platform.ErrFormat) {
		t.Errorf("Verify(receipt) = %v", err)
	}
	nine := `["` + strings.Repeat(`AA","`, 8) + `AA"]`
	for name, tc := range map[string]struct {
		raw  string
		want error
	}{
		"not-json":          {`{`, platform.ErrMalformed},
		"not-object":        {`[]`, platform.ErrMalformed},
		"unknown-format":    {`{"format":"tpm"}`, platform.ErrFormat},
		"no-format":         {`{}`, platform.ErrFormat},
		"chain-missing":     {`{"format":"android-key"}`, platform.ErrMalformed},
		"chain-not-array":   {`{"format":"android-key","chain":"AA"}`, platform.ErrMalformed},
		"chain-too-long":    {`{"format":"android-key","chain":` + nine + `}`, platform.ErrMalformed},
		"chain-padded-b64":  {`{"format":"android-key","chain":["AA=="]}`, platform.ErrMalformed},
		"chain-std-b64":     {`{"format":"android-key","chain":["a+/A"]}`, platform.ErrMalformed},
		"chain-empty-cert":  {`{"format":"android-key","chain":[""]}`, platform.ErrMalformed},
		"key-id-missing":    {`{"format":"apple-appattest","attestation":"AA"}`, platform.ErrMalformed},
		"key-id-too-long":   {`{"format":"apple-appattest","key_id":"` + strings.Repeat("A", 100) + `","attestation":"AA"}`, platform.ErrMalformed},
		"attestation-gone":  {`{"format":"apple-appattest","key_id":"AA"}`, platform.ErrMalformed},
		"receipt-empty":     {`{"format":"receipt","receipt":""}`, platform.ErrMalformed},
		"receipt-too-long":  {`{"format":"receipt","receipt":"` + strings.Repeat("r", 5000) + `"}`, platform.ErrMalformed},
		"evidence-too-long": {`{"format":"receipt","receipt":"r","pad":"` + strings.Repeat(" ", platform.MaxEvidenceSize) + `"}`, platform.ErrMalformed},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := platform.ParseEvidence([]byte(tc.raw)); !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
}

func TestReason(t *testing.T) {
	for err, want := range map[error]string{
		nil:                          "",
		platform.ErrMalformed:        "platform_malformed",
		platform.ErrFormat:           "platform_format",
		androidkey.ErrRevoked:        "android_revoked",
		appleattest.ErrCounter:       "apple_counter",
		errors.New("something else"): "platform_invalid",
	} {
		if got := platform.Reason(err); got != want {
			t.Errorf("Reason(%v) = %q, want %q", err, got, want)
		}
	}
}
