package model

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"strings"
	"testing"

	"github.com/attestd/attestd/verify/playintegrity/playtest"
)

// playBundle is goodBundle's app with Play Integrity keys (current and
// previous) and every play_* policy field.
func playBundle(t *testing.T) (string, *playtest.Issuer) {
	t.Helper()
	iss, err := playtest.NewIssuer()
	if err != nil {
		t.Fatal(err)
	}
	prev, err := playtest.NewIssuer()
	if err != nil {
		t.Fatal(err)
	}
	d := base64.RawURLEncoding.EncodeToString(make([]byte, 32))
	return `{"apps": [{"id": "com.example.shop", "account": "acme", "platform": "android",
		"signers": ["` + d + `"], "versions": {"4.2.1": "` + d + `"},
		"policy": {"allow_rooted": false, "android_min_security": "tee", "play_min_device": "strong",
		 "play_require_licensed": true, "play_allow_unrecognized": true, "play_require_play_protect": true},
		"play_integrity": {"decryption_key": "` + iss.DecryptionKeyB64() + `", "verification_key": "` + iss.VerificationKeyB64() + `",
		  "previous": {"decryption_key": "` + prev.DecryptionKeyB64() + `", "verification_key": "` + prev.VerificationKeyB64() + `"}}}]}`, iss
}

func TestPlayIntegrityBundle(t *testing.T) {
	s, iss := playBundle(t)
	b, err := decode(s)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Validate(); err != nil {
		t.Fatal(err)
	}
	a := b.Apps[0]
	if a.PlayIntegrity == nil || string(a.PlayIntegrity.DecryptionKey.Reveal()) != iss.DecryptionKeyB64() || a.PlayIntegrity.Previous == nil {
		t.Fatalf("play_integrity not read: %+v", a.PlayIntegrity)
	}
	p := a.Policy
	if p.PlayMinDevice != "strong" || !p.PlayRequireLicensed || !p.PlayAllowUnrecognized || !p.PlayRequirePlayProtect {
		t.Fatalf("play policy not read: %+v", p)
	}
}

// TestPlayIntegrityKeyThatDoesNotParseIsNamed: a key that does not parse
// as the verifier reads it is an error naming its field, which never shows
// the key.
func TestPlayIntegrityKeyThatDoesNotParseIsNamed(t *testing.T) {
	s, iss := playBundle(t)
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	rsaDER, _ := x509.MarshalPKIXPublicKey(&rsaKey.PublicKey)
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	p384DER, _ := x509.MarshalPKIXPublicKey(&p384.PublicKey)
	point, _ := iss.SigningKey.PublicKey.ECDH()
	dec, ver := iss.DecryptionKeyB64(), iss.VerificationKeyB64()
	std := base64.StdEncoding.EncodeToString
	for _, tc := range []struct{ name, old, new, want string }{
		{"decryption-not-b64", dec, "not base64 at all!", "apps[0].play_integrity.decryption_key"},
		{"decryption-aes-128", dec, std(make([]byte, 16)), "apps[0].play_integrity.decryption_key"},
		{"decryption-b64u", dec, base64.RawURLEncoding.EncodeToString(iss.DecryptionKey), "apps[0].play_integrity.decryption_key"},
		{"decryption-empty", `"decryption_key": "` + dec + `"`, `"decryption_key": ""`, "apps[0].play_integrity.decryption_key: missing"},
		{"verification-rsa", ver, std(rsaDER), "apps[0].play_integrity.verification_key"},
		{"verification-p384", ver, std(p384DER), "apps[0].play_integrity.verification_key"},
		{"verification-raw-point", ver, std(point.Bytes()), "apps[0].play_integrity.verification_key"},
		{"verification-pem", ver, "-----BEGIN PUBLIC KEY-----", "apps[0].play_integrity.verification_key"},
		{"verification-missing", `, "verification_key": "` + ver + `"`, ``, "apps[0].play_integrity.verification_key: missing"},
		{"previous-decryption", `"previous": {"decryption_key": "`, `"previous": {"decryption_key": "AAAA`, "apps[0].play_integrity.previous.decryption_key"},
		{"unknown-member", `"decryption_key": "` + dec, `"decryption-key": "x", "decryption_key": "` + dec, `apps[0].play_integrity["decryption-key"]: unknown member`},
		{"repeated-member", `"decryption_key": "` + dec + `"`, `"decryption_key": "` + dec + `", "decryption_key": "` + dec + `"`, "apps[0].play_integrity.decryption_key: repeated member"},
		{"min-device-unknown", `"play_min_device": "strong"`, `"play_min_device": "Strong"`, "apps[0].policy.play_min_device"},
		{"ios-app", `"platform": "android"`, `"platform": "ios", "team_id": "TEAM"`, "apps[0].play_integrity: only android apps"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bad := strings.Replace(s, tc.old, tc.new, 1)
			if bad == s {
				t.Fatal("case does not change the bundle")
			}
			b, err := decode(bad)
			if err == nil {
				err = b.Validate()
			}
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error naming %q", err, tc.want)
			}
			for _, k := range []string{dec, ver, tc.new} {
				if len(k) > 20 && strings.Contains(err.Error(), k) {
					t.Fatalf("error shows a key: %v", err)
				}
			}
		})
	}
}
