package playintegrity_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/attestd/attestd/verify/playintegrity"
	"github.com/attestd/attestd/verify/playintegrity/playtest"
)

func TestGenuineTokenPasses(t *testing.T) {
	r := newRig(t)
	v, err := r.verify(r.token(t, r.pass()), playintegrity.Policy{})
	if err != nil {
		t.Fatal(err)
	}
	want := playintegrity.Verdicts{Labels: playintegrity.AllLabels, Recognized: true, Licensed: true, PlayProtect: true}
	if v != want {
		t.Fatalf("verdicts %+v, want %+v", v, want)
	}
	// The timestamp as a JSON number (proto3 allows both), and a nonce
	// sent back padded, pass too.
	pv := r.pass()
	pv.TimestampAsNumber = true
	pv.Nonce += "="
	if _, err := r.verify(r.token(t, pv), playintegrity.Policy{}); err != nil {
		t.Fatal(err)
	}
}

// TestPayloadChecksFail: one verdict per check of §10, each failing with
// its reason.
func TestPayloadChecksFail(t *testing.T) {
	r := newRig(t)
	other := newRig(t)
	for _, tc := range []struct {
		name   string
		edit   func(v *playtest.Verdict)
		policy playintegrity.Policy
		reason string
	}{
		{"nonce-for-another-device-key", func(v *playtest.Verdict) { v.Nonce = playintegrity.Nonce(r.nonce, other.spki) }, playintegrity.Policy{}, "play_nonce"},
		{"nonce-for-another-attestd-nonce", func(v *playtest.Verdict) { v.Nonce = playintegrity.Nonce([]byte("another nonce"), r.spki) }, playintegrity.Policy{}, "play_nonce"},
		{"nonce-the-attestd-nonce-itself", func(v *playtest.Verdict) { v.Nonce = string(r.nonce) }, playintegrity.Policy{}, "play_nonce"},
		{"nonce-std-base64", func(v *playtest.Verdict) {
			d, _ := base64.RawURLEncoding.DecodeString(v.Nonce)
			v.Nonce = base64.StdEncoding.EncodeToString(d) + "+/"
		}, playintegrity.Policy{}, "play_nonce"},
		{"nonce-absent", func(v *playtest.Verdict) {
			v.Edit = func(m map[string]any) { delete(m["requestDetails"].(map[string]any), "nonce") }
		}, playintegrity.Policy{}, "play_nonce"},
		{"timestamp-expired", func(v *playtest.Verdict) { v.Timestamp = now.Add(-maxAge - time.Millisecond) }, playintegrity.Policy{}, "play_stale"},
		{"timestamp-a-day-old", func(v *playtest.Verdict) { v.Timestamp = now.Add(-24 * time.Hour) }, playintegrity.Policy{}, "play_stale"},
		{"timestamp-in-the-future", func(v *playtest.Verdict) { v.Timestamp = now.Add(playintegrity.MaxAhead + time.Millisecond) }, playintegrity.Policy{}, "play_stale"},
		{"request-package-of-another-app", func(v *playtest.Verdict) { v.RequestPackageName = "com.evil.app" }, playintegrity.Policy{}, "play_app"},
		{"app-package-of-another-app", func(v *playtest.Verdict) { v.PackageName = "com.evil.app" }, playintegrity.Policy{}, "play_app"},
		{"both-packages-of-another-app", func(v *playtest.Verdict) { v.PackageName, v.RequestPackageName = "com.evil.app", "com.evil.app" }, playintegrity.Policy{}, "play_app"},
		{"package-differs-in-case", func(v *playtest.Verdict) { v.PackageName = strings.ToUpper(appID) }, playintegrity.Policy{}, "play_app"},
		{"certificate-of-another-signer", func(v *playtest.Verdict) {
			v.CertDigests = []string{base64.RawURLEncoding.EncodeToString(make([]byte, 32))}
		}, playintegrity.Policy{}, "play_app"},
		{"certificate-digests-absent", func(v *playtest.Verdict) { v.CertDigests = nil }, playintegrity.Policy{}, "play_app"},
		{"certificate-digest-hex", func(v *playtest.Verdict) { v.CertDigests = []string{strings.Repeat("ab", 32)} }, playintegrity.Policy{}, "play_app"},
		{"unrecognized-version", func(v *playtest.Verdict) { v.AppRecognition = "UNRECOGNIZED_VERSION" }, playintegrity.Policy{}, "play_app"},
		{"unevaluated", func(v *playtest.Verdict) { v.AppRecognition = "UNEVALUATED" }, playintegrity.Policy{}, "play_app"},
		{"unevaluated-allowed-but-no-package", func(v *playtest.Verdict) {
			v.AppRecognition, v.PackageName, v.CertDigests = "UNEVALUATED", "", nil
		}, playintegrity.Policy{AllowUnrecognized: true}, "play_app"},
		{"no-device-labels", func(v *playtest.Verdict) { v.DeviceLabels = nil }, playintegrity.Policy{}, "play_device"},
		{"basic-only-for-device", func(v *playtest.Verdict) { v.DeviceLabels = []string{"MEETS_BASIC_INTEGRITY"} }, playintegrity.Policy{}, "play_device"},
		{"virtual-only", func(v *playtest.Verdict) { v.DeviceLabels = []string{"MEETS_VIRTUAL_INTEGRITY"} }, playintegrity.Policy{MinDevice: "basic"}, "play_device"},
		{"device-for-strong", func(v *playtest.Verdict) {
			v.DeviceLabels = []string{"MEETS_BASIC_INTEGRITY", "MEETS_DEVICE_INTEGRITY"}
		}, playintegrity.Policy{MinDevice: "strong"}, "play_device"},
		{"label-in-lower-case", func(v *playtest.Verdict) { v.DeviceLabels = []string{"meets_device_integrity"} }, playintegrity.Policy{}, "play_device"},
		{"unlicensed", func(v *playtest.Verdict) { v.Licensing = "UNLICENSED" }, playintegrity.Policy{RequireLicensed: true}, "play_unlicensed"},
		{"licensing-unevaluated", func(v *playtest.Verdict) { v.Licensing = "UNEVALUATED" }, playintegrity.Policy{RequireLicensed: true}, "play_unlicensed"},
		{"play-protect-high-risk", func(v *playtest.Verdict) { v.PlayProtect = "HIGH_RISK" }, playintegrity.Policy{RequirePlayProtect: true}, "play_protect"},
		{"play-protect-off", func(v *playtest.Verdict) { v.PlayProtect = "POSSIBLE_RISK" }, playintegrity.Policy{RequirePlayProtect: true}, "play_protect"},
		{"play-protect-absent", func(v *playtest.Verdict) { v.PlayProtect = "" }, playintegrity.Policy{RequirePlayProtect: true}, "play_protect"},
		{"timestamp-absent", func(v *playtest.Verdict) {
			v.Edit = func(m map[string]any) { delete(m["requestDetails"].(map[string]any), "timestampMillis") }
		}, playintegrity.Policy{}, "play_malformed"},
		{"timestamp-negative", func(v *playtest.Verdict) {
			v.Edit = func(m map[string]any) { m["requestDetails"].(map[string]any)["timestampMillis"] = "-1" }
		}, playintegrity.Policy{}, "play_malformed"},
		{"timestamp-exponent", func(v *playtest.Verdict) {
			v.Edit = func(m map[string]any) {
				m["requestDetails"].(map[string]any)["timestampMillis"] = json.RawMessage(`1.7e12`)
			}
		}, playintegrity.Policy{}, "play_malformed"},
		{"request-details-absent", func(v *playtest.Verdict) { v.Edit = func(m map[string]any) { delete(m, "requestDetails") } }, playintegrity.Policy{}, "play_malformed"},
		{"nonce-a-number", func(v *playtest.Verdict) {
			v.Edit = func(m map[string]any) { m["requestDetails"].(map[string]any)["nonce"] = 7 }
		}, playintegrity.Policy{}, "play_malformed"},
		{"payload-nested-too-deep", func(v *playtest.Verdict) {
			v.Edit = func(m map[string]any) {
				var x any = 1
				for range playintegrity.MaxPayloadDepth {
					x = []any{x}
				}
				m["deep"] = x
			}
		}, playintegrity.Policy{}, "play_malformed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := r.pass()
			tc.edit(&v)
			_, err := r.verify(r.token(t, v), tc.policy)
			wantReason(t, err, tc.reason)
		})
	}
}

// TestPolicyAllowances: what the policy allows passes.
func TestPolicyAllowances(t *testing.T) {
	r := newRig(t)
	for _, tc := range []struct {
		name   string
		edit   func(v *playtest.Verdict)
		policy playintegrity.Policy
	}{
		{"unrecognized-allowed", func(v *playtest.Verdict) { v.AppRecognition = "UNRECOGNIZED_VERSION" }, playintegrity.Policy{AllowUnrecognized: true}},
		{"basic-for-basic", func(v *playtest.Verdict) { v.DeviceLabels = []string{"MEETS_BASIC_INTEGRITY"} }, playintegrity.Policy{MinDevice: "basic"}},
		{"device-for-device", func(v *playtest.Verdict) {
			v.DeviceLabels = []string{"MEETS_BASIC_INTEGRITY", "MEETS_DEVICE_INTEGRITY"}
		}, playintegrity.Policy{MinDevice: "device"}},
		{"strong-for-strong", func(v *playtest.Verdict) {}, playintegrity.Policy{MinDevice: "strong"}},
		{"unlicensed-not-required", func(v *playtest.Verdict) { v.Licensing = "UNLICENSED" }, playintegrity.Policy{}},
		{"play-protect-not-required", func(v *playtest.Verdict) { v.PlayProtect = "HIGH_RISK" }, playintegrity.Policy{}},
		{"timestamp-at-the-edge-of-the-lifetime", func(v *playtest.Verdict) { v.Timestamp = now.Add(-maxAge) }, playintegrity.Policy{}},
		{"timestamp-at-the-edge-of-the-future", func(v *playtest.Verdict) { v.Timestamp = now.Add(playintegrity.MaxAhead) }, playintegrity.Policy{}},
		{"second-certificate", func(v *playtest.Verdict) {
			v.CertDigests = append([]string{base64.RawURLEncoding.EncodeToString(make([]byte, 32))}, v.CertDigests...)
		}, playintegrity.Policy{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := r.pass()
			tc.edit(&v)
			if _, err := r.verify(r.token(t, v), tc.policy); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestDeviceLabelLevels: each level of play_min_device against each set
// of labels a verdict may hold.
func TestDeviceLabelLevels(t *testing.T) {
	basic, device, strong := "MEETS_BASIC_INTEGRITY", "MEETS_DEVICE_INTEGRITY", "MEETS_STRONG_INTEGRITY"
	r := newRig(t)
	for _, tc := range []struct {
		labels        []string
		basic, device bool
		strong        bool
	}{
		{nil, false, false, false},
		{[]string{basic}, true, false, false},
		{[]string{basic, device}, true, true, false},
		{[]string{basic, device, strong}, true, true, true},
		{[]string{strong}, false, false, true},
		{[]string{device}, false, true, false},
	} {
		v := r.pass()
		v.DeviceLabels = tc.labels
		tok := r.token(t, v)
		for level, ok := range map[string]bool{"basic": tc.basic, "device": tc.device, "": tc.device, "strong": tc.strong} {
			_, err := r.verify(tok, playintegrity.Policy{MinDevice: level})
			if want := map[bool]string{true: "", false: "play_device"}[ok]; playintegrity.Reason(err) != want {
				t.Errorf("labels %v, play_min_device %q: %v, want %q", tc.labels, level, err, want)
			}
		}
	}
}

// TestTokensGoogleNeverMakesAreMalformed: every layer with another shape
// or algorithm than §10's is refused before any key is used.
func TestTokensGoogleNeverMakesAreMalformed(t *testing.T) {
	r := newRig(t)
	payload := r.pass().JSON()
	es := func(t *testing.T) string {
		jws, err := playtest.SignJWS(jose.ES256, r.iss.SigningKey, payload, nil)
		if err != nil {
			t.Fatal(err)
		}
		return jws
	}
	wrap := func(t *testing.T, alg jose.KeyAlgorithm, enc jose.ContentEncryption, key any, plain string, opts *jose.EncrypterOptions) string {
		tok, err := playtest.EncryptJWE(alg, enc, key, []byte(plain), opts)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	p384, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		tok  func(t *testing.T) string
	}{
		{"jwe-alg-dir", func(t *testing.T) string { return wrap(t, jose.DIRECT, jose.A256GCM, r.iss.DecryptionKey, es(t), nil) }},
		{"jwe-alg-rsa-oaep", func(t *testing.T) string { return wrap(t, jose.RSA_OAEP, jose.A256GCM, &rsaKey.PublicKey, es(t), nil) }},
		{"jwe-alg-a128kw", func(t *testing.T) string {
			return wrap(t, jose.A128KW, jose.A256GCM, r.iss.DecryptionKey[:16], es(t), nil)
		}},
		{"jwe-alg-ecdh-es", func(t *testing.T) string {
			return wrap(t, jose.ECDH_ES_A256KW, jose.A256GCM, &r.iss.SigningKey.PublicKey, es(t), nil)
		}},
		{"jwe-enc-a128gcm", func(t *testing.T) string { return wrap(t, jose.A256KW, jose.A128GCM, r.iss.DecryptionKey, es(t), nil) }},
		{"jwe-enc-cbc-hs", func(t *testing.T) string {
			return wrap(t, jose.A256KW, jose.A128CBC_HS256, r.iss.DecryptionKey, es(t), nil)
		}},
		{"jwe-zip-deflate", func(t *testing.T) string {
			return wrap(t, jose.A256KW, jose.A256GCM, r.iss.DecryptionKey, es(t), &jose.EncrypterOptions{Compression: jose.DEFLATE})
		}},
		{"jwe-crit", func(t *testing.T) string {
			return wrap(t, jose.A256KW, jose.A256GCM, r.iss.DecryptionKey, es(t), (&jose.EncrypterOptions{}).WithHeader("crit", []string{"exp"}).WithHeader("exp", 1))
		}},
		{"jwe-jku", func(t *testing.T) string {
			return wrap(t, jose.A256KW, jose.A256GCM, r.iss.DecryptionKey, es(t), (&jose.EncrypterOptions{}).WithHeader("jku", "https://evil.example/keys"))
		}},
		{"jws-hs256", func(t *testing.T) string {
			jws, err := playtest.SignJWS(jose.HS256, r.iss.DecryptionKey, payload, nil)
			if err != nil {
				t.Fatal(err)
			}
			return wrap(t, jose.A256KW, jose.A256GCM, r.iss.DecryptionKey, jws, nil)
		}},
		{"jws-es384", func(t *testing.T) string {
			jws, err := playtest.SignJWS(jose.ES384, p384, payload, nil)
			if err != nil {
				t.Fatal(err)
			}
			return wrap(t, jose.A256KW, jose.A256GCM, r.iss.DecryptionKey, jws, nil)
		}},
		{"jws-rs256", func(t *testing.T) string {
			jws, err := playtest.SignJWS(jose.RS256, rsaKey, payload, nil)
			if err != nil {
				t.Fatal(err)
			}
			return wrap(t, jose.A256KW, jose.A256GCM, r.iss.DecryptionKey, jws, nil)
		}},
		{"jws-alg-none", func(t *testing.T) string {
			return wrap(t, jose.A256KW, jose.A256GCM, r.iss.DecryptionKey, playtest.UnsecuredJWS(payload), nil)
		}},
		{"jws-embedded-jwk", func(t *testing.T) string {
			attacker, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
			jws, err := playtest.SignJWS(jose.ES256, attacker, payload, map[jose.HeaderKey]any{"jwk": jose.JSONWebKey{Key: &attacker.PublicKey}})
			if err != nil {
				t.Fatal(err)
			}
			return wrap(t, jose.A256KW, jose.A256GCM, r.iss.DecryptionKey, jws, nil)
		}},
		{"jws-b64-false", func(t *testing.T) string {
			jws, err := playtest.SignJWS(jose.ES256, r.iss.SigningKey, payload, map[jose.HeaderKey]any{"b64": false, "crit": []string{"b64"}})
			if err != nil {
				t.Fatal(err)
			}
			return wrap(t, jose.A256KW, jose.A256GCM, r.iss.DecryptionKey, jws, nil)
		}},
		{"jwe-header-alg-repeated", func(t *testing.T) string {
			return withJWEHeader(r.token(t, r.pass()), `{"alg":"A256KW","enc":"A256GCM","alg":"dir"}`)
		}},
		{"jwe-header-escaped-name", func(t *testing.T) string {
			return withJWEHeader(r.token(t, r.pass()), `{"alg":"A256KW","enc":"A256GCM","\u007aip":"DEF"}`)
		}},
		{"jwe-header-not-object", func(t *testing.T) string { return withJWEHeader(r.token(t, r.pass()), `["A256KW"]`) }},
		{"jwe-header-trailing", func(t *testing.T) string {
			return withJWEHeader(r.token(t, r.pass()), `{"alg":"A256KW","enc":"A256GCM"}{}`)
		}},
		{"jws-header-alg-repeated", func(t *testing.T) string {
			return wrap(t, jose.A256KW, jose.A256GCM, r.iss.DecryptionKey, rawES256(t, `{"alg":"ES256","alg":"none"}`, payload, r.iss.SigningKey), nil)
		}},
		{"jws-header-alg-case", func(t *testing.T) string {
			return wrap(t, jose.A256KW, jose.A256GCM, r.iss.DecryptionKey, rawES256(t, `{"alg":"es256"}`, payload, r.iss.SigningKey), nil)
		}},
		{"jws-header-x5u", func(t *testing.T) string {
			return wrap(t, jose.A256KW, jose.A256GCM, r.iss.DecryptionKey, rawES256(t, `{"alg":"ES256","x5u":"https://evil.example"}`, payload, r.iss.SigningKey), nil)
		}},
		{"jws-without-jwe", func(t *testing.T) string { return es(t) }},
		{"jwe-of-plain-json", func(t *testing.T) string {
			return wrap(t, jose.A256KW, jose.A256GCM, r.iss.DecryptionKey, string(payload), nil)
		}},
		{"jwe-of-a-jwe", func(t *testing.T) string {
			inner := wrap(t, jose.A256KW, jose.A256GCM, r.iss.DecryptionKey, es(t), nil)
			return wrap(t, jose.A256KW, jose.A256GCM, r.iss.DecryptionKey, inner, nil)
		}},
		{"jwe-json-serialization", func(t *testing.T) string {
			e, _ := jose.NewEncrypter(jose.A256GCM, jose.Recipient{Algorithm: jose.A256KW, Key: r.iss.DecryptionKey}, nil)
			obj, _ := e.Encrypt([]byte(es(t)))
			return obj.FullSerialize()
		}},
		{"too-long", func(t *testing.T) string {
			v := r.pass()
			v.Edit = func(m map[string]any) { m["pad"] = strings.Repeat("x", playintegrity.MaxToken) }
			return r.token(t, v)
		}},
		{"six-parts", func(t *testing.T) string { return r.token(t, r.pass()) + ".AAAA" }},
		{"whitespace", func(t *testing.T) string { return " " + r.token(t, r.pass()) }},
		{"empty", func(t *testing.T) string { return "" }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := r.verify(tc.tok(t), playintegrity.Policy{})
			t.Log(err)
			wantReason(t, err, "play_malformed")
		})
	}
}

// TestWrongKeysFail: a token made with other keys than the app's does not
// pass, whichever key differs.
func TestWrongKeysFail(t *testing.T) {
	r := newRig(t)
	other, err := playtest.NewIssuer()
	if err != nil {
		t.Fatal(err)
	}
	payload := r.pass().JSON()
	mixed := func(dec []byte, sign *ecdsa.PrivateKey) string {
		jws, err := playtest.SignJWS(jose.ES256, sign, payload, nil)
		if err != nil {
			t.Fatal(err)
		}
		tok, err := playtest.EncryptJWE(jose.A256KW, jose.A256GCM, dec, []byte(jws), nil)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	for name, tok := range map[string]string{
		"wrong-decryption-key":   mixed(other.DecryptionKey, r.iss.SigningKey),
		"wrong-verification-key": mixed(r.iss.DecryptionKey, other.SigningKey),
		"both-keys-wrong":        mixed(other.DecryptionKey, other.SigningKey),
	} {
		t.Run(name, func(t *testing.T) {
			_, err := r.verify(tok, playintegrity.Policy{})
			wantReason(t, err, "play_keys")
		})
	}
	// A tampered ciphertext or tag does not decrypt.
	tok := r.token(t, r.pass())
	parts := strings.Split(tok, ".")
	for i := 3; i <= 4; i++ {
		p := append([]string(nil), parts...)
		b := []byte(p[i])
		b[0] = map[bool]byte{true: 'B', false: 'A'}[b[0] == 'A']
		p[i] = string(b)
		_, err := r.verify(strings.Join(p, "."), playintegrity.Policy{})
		wantReason(t, err, "play_keys")
	}
	// No keys at all.
	_, err = playintegrity.Verify(r.input(tok), nil, playintegrity.Policy{}, maxAge, now)
	wantReason(t, err, "play_unconfigured")
}

// TestKeyRotation: during a rotation a token of either pair passes; a
// token decrypted by one pair is verified with that pair's key only; after
// the rotation the old pair's tokens fail.
func TestKeyRotation(t *testing.T) {
	r := newRig(t)
	next, err := playtest.NewIssuer()
	if err != nil {
		t.Fatal(err)
	}
	both, err := playintegrity.NewKeySet(next.KeyPair(), r.iss.KeyPair())
	if err != nil {
		t.Fatal(err)
	}
	payload := r.pass().JSON()
	for name, iss := range map[string]*playtest.Issuer{"previous": r.iss, "current": next} {
		tok, err := iss.Token(payload)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := playintegrity.Verify(r.input(tok), both, playintegrity.Policy{}, maxAge, now); err != nil {
			t.Errorf("%s pair during the rotation: %v", name, err)
		}
	}
	// Encrypted with the previous pair, signed with the current one's key.
	jws, _ := playtest.SignJWS(jose.ES256, next.SigningKey, payload, nil)
	crossed, _ := playtest.EncryptJWE(jose.A256KW, jose.A256GCM, r.iss.DecryptionKey, []byte(jws), nil)
	_, err = playintegrity.Verify(r.input(crossed), both, playintegrity.Policy{}, maxAge, now)
	wantReason(t, err, "play_keys")
	old, _ := r.iss.Token(payload)
	_, err = playintegrity.Verify(r.input(old), next.KeySet(), playintegrity.Policy{}, maxAge, now)
	wantReason(t, err, "play_keys")
	if _, err := playintegrity.NewKeySet(next.KeyPair(), r.iss.KeyPair(), r.iss.KeyPair()); err == nil {
		t.Error("three pairs accepted")
	}
}

// withJWEHeader replaces a compact JWE's protected header with hdr.
func withJWEHeader(tok, hdr string) string {
	_, rest, _ := strings.Cut(tok, ".")
	return base64.RawURLEncoding.EncodeToString([]byte(hdr)) + "." + rest
}

// rawES256 is a compact JWS with the protected header hdr as given,
// signed ES256 with key.
func rawES256(t *testing.T, hdr string, payload []byte, key *ecdsa.PrivateKey) string {
	t.Helper()
	enc := base64.RawURLEncoding
	signing := enc.EncodeToString([]byte(hdr)) + "." + enc.EncodeToString(payload)
	sum := sha256.Sum256([]byte(signing))
	rs, ss, err := ecdsa.Sign(rand.Reader, key, sum[:])
	if err != nil {
		t.Fatal(err)
	}
	sig := make([]byte, 64)
	rs.FillBytes(sig[:32])
	ss.FillBytes(sig[32:])
	return signing + "." + enc.EncodeToString(sig)
}
