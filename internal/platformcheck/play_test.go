package platformcheck_test

import (
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/attestd/attestd/crypto/secret"
	"github.com/attestd/attestd/internal/attest"
	"github.com/attestd/attestd/internal/model"
	"github.com/attestd/attestd/internal/registry"
	"github.com/attestd/attestd/internal/testenv"
	"github.com/attestd/attestd/verify/playintegrity/playtest"
)

// setPlayApp re-imports testenv.App with Play Integrity keys of iss and
// policy p, and reloads the node.
func (n *node) setPlayApp(t testing.TB, iss *playtest.Issuer, p model.Policy) *registry.App {
	t.Helper()
	b := *n.f.Bundle
	b.Apps = slices.Clone(b.Apps)
	for i, a := range b.Apps {
		if a.ID == testenv.App {
			a.Policy = p
			a.PlayIntegrity = &model.PlayIntegrity{PlayKeys: model.PlayKeys{
				DecryptionKey: secret.FromString(iss.DecryptionKeyB64()), VerificationKey: secret.FromString(iss.VerificationKeyB64())}}
			b.Apps[i] = a
		}
	}
	n.st.Import(t, &b)
	n.load(t, n.reg)
	return n.app(t, testenv.App)
}

// playToken is a token of iss for the request (nonce, d) with verdict v
// edited by edit.
func (n *node) playJSON(t testing.TB, iss *playtest.Issuer, d device, nonce string, edit func(*playtest.Verdict)) []byte {
	t.Helper()
	var signer [32]byte
	copy(signer[:], n.f.Signer)
	v := playtest.Pass(testenv.App, signer, []byte(nonce), d.dk.SPKI(), time.Now())
	if edit != nil {
		edit(&v)
	}
	tok, err := iss.Token(v.JSON())
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(map[string]string{"format": "play-integrity", "token": tok})
	return b
}

// TestPlayEnrolmentReceiptFollowsThePolicy: a Play Integrity pass issues a
// receipt recording the verdicts; each use of it is checked against the
// play_* policy as it is then.
func TestPlayEnrolmentReceiptFollowsThePolicy(t *testing.T) {
	n := newNode(t)
	iss, err := playtest.NewIssuer()
	if err != nil {
		t.Fatal(err)
	}
	app := n.setPlayApp(t, iss, model.Policy{})
	d := newDevice(t)
	const nonce = "v1.play-enrolment"
	// A device that meets device integrity, unlicensed, Play Protect off.
	res := n.check(t, app, d, nonce, n.playJSON(t, iss, d, nonce, func(v *playtest.Verdict) {
		v.DeviceLabels = []string{"MEETS_BASIC_INTEGRITY", "MEETS_DEVICE_INTEGRITY"}
		v.Licensing, v.PlayProtect = "UNLICENSED", "POSSIBLE_RISK"
	}))
	if !res.Verified || res.Receipt == "" {
		t.Fatalf("enrolment: %+v", res)
	}
	r := receiptJSON(res.Receipt)
	for _, tc := range []struct {
		name   string
		policy model.Policy
		reason string
	}{
		{"default-policy", model.Policy{}, ""},
		{"basic-enough", model.Policy{PlayMinDevice: "basic"}, ""},
		{"strong-required-now", model.Policy{PlayMinDevice: "strong"}, "receipt_policy"},
		{"licence-required-now", model.Policy{PlayRequireLicensed: true}, "receipt_policy"},
		{"play-protect-required-now", model.Policy{PlayRequirePlayProtect: true}, "receipt_policy"},
		{"android-key-fields-do-not-apply", model.Policy{AndroidMinSecurity: "strongbox"}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := n.check(t, n.setPlayApp(t, iss, tc.policy), d, "v1.later", r)
			if tc.reason == "" {
				if !res.Verified || res.Receipt != "" {
					t.Fatalf("receipt use: %+v", res)
				}
				return
			}
			if want := []string{attest.ReasonPAInvalid, tc.reason}; res.Verified || !slices.Equal(res.Reasons, want) {
				t.Fatalf("receipt use: %+v, want %v", res, want)
			}
		})
	}
	// The receipt is the device's: another device key cannot use it.
	other := newDevice(t)
	if res := n.check(t, n.setPlayApp(t, iss, model.Policy{}), other, "v1.later", r); res.Verified {
		t.Fatal("a play-integrity receipt passed for another device key")
	}
}

// TestPlayFailuresCarryTheirReason: a refused token is
// platform_attestation_invalid then its play_* reason, and issues no
// receipt.
func TestPlayFailuresCarryTheirReason(t *testing.T) {
	n := newNode(t)
	iss, err := playtest.NewIssuer()
	if err != nil {
		t.Fatal(err)
	}
	other, err := playtest.NewIssuer()
	if err != nil {
		t.Fatal(err)
	}
	app := n.setPlayApp(t, iss, model.Policy{PlayRequireLicensed: true})
	d := newDevice(t)
	const nonce = "v1.play"
	for _, tc := range []struct {
		name   string
		raw    []byte
		reason string
	}{
		{"another-device-key", n.playJSON(t, iss, newDevice(t), nonce, nil), "play_nonce"},
		{"stale", n.playJSON(t, iss, d, nonce, func(v *playtest.Verdict) { v.Timestamp = time.Now().Add(-2 * attest.DefaultNonceTTL) }), "play_stale"},
		{"another-app", n.playJSON(t, iss, d, nonce, func(v *playtest.Verdict) { v.PackageName, v.RequestPackageName = "com.evil", "com.evil" }), "play_app"},
		{"unlicensed", n.playJSON(t, iss, d, nonce, func(v *playtest.Verdict) { v.Licensing = "UNLICENSED" }), "play_unlicensed"},
		{"another-apps-keys", n.playJSON(t, other, d, nonce, nil), "play_keys"},
		{"malformed", []byte(`{"format":"play-integrity","token":"a.b.c"}`), "play_malformed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := n.check(t, app, d, nonce, tc.raw)
			if want := []string{attest.ReasonPAInvalid, tc.reason}; res.Verified || res.Receipt != "" || !slices.Equal(res.Reasons, want) {
				t.Fatalf("%+v, want %v", res, want)
			}
		})
	}
	// An app that has no keys.
	res := n.check(t, n.app(t, testenv.AppES), d, nonce, n.playJSON(t, iss, d, nonce, nil))
	if want := []string{attest.ReasonPAInvalid, "play_unconfigured"}; !slices.Equal(res.Reasons, want) {
		t.Fatalf("%+v, want %v", res, want)
	}
}
