package attest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/attestd/attestd/internal/apierr"
	"github.com/attestd/attestd/internal/model"
	"github.com/attestd/attestd/internal/replay"
	"github.com/attestd/attestd/verify/devicekey"
)

var otherDigest = sha256.Sum256([]byte("another"))

// TestVerdictEveryReason: each §2 reason alone, as the observer hears it,
// as the token's arc says it, and with the decoy key.
func TestVerdictEveryReason(t *testing.T) {
	invalid := PlatformResult{Reasons: []string{ReasonPAInvalid, "android_chain"}}
	for _, tc := range []struct {
		name     string
		c        claim
		policy   model.Policy
		platform *PlatformResult
		ban      bool
		want     []string
		required bool
	}{
		{name: "pass", want: nil},
		{name: "pass/allowed-flags", c: claim{integrity: `{"rooted":true,"debugger":true,"hooked":true,"emulator":true}`},
			policy: model.Policy{AllowRooted: true, AllowDebugger: true, AllowHooked: true, AllowEmulator: true}},
		{name: "pass/platform-verified", c: claim{pa: `{"format":"receipt"}`}, policy: model.Policy{RequirePlatformAttestation: true}},
		{name: "fail/app-unknown", c: claim{app: "com.example.other"}, want: []string{ReasonAppUnknown}},
		{name: "fail/platform-mismatch", c: claim{platform: "ios"}, want: []string{ReasonPlatformMismatch}},
		{name: "fail/signer-mismatch", c: claim{signer: &otherDigest}, want: []string{ReasonSignerMismatch}},
		{name: "fail/version-unknown", c: claim{version: "9.9"}, want: []string{ReasonVersionUnknown}},
		{name: "fail/measurement-mismatch", c: claim{code: &otherDigest}, want: []string{ReasonMeasurementMismatch}},
		{name: "fail/rooted", c: claim{integrity: `{"rooted":true}`}, want: []string{ReasonRooted}},
		{name: "fail/debugger", c: claim{integrity: `{"debugger":true}`}, want: []string{ReasonDebugger}},
		{name: "fail/hooked", c: claim{integrity: `{"hooked":true}`}, want: []string{ReasonHooked}},
		{name: "fail/emulator", c: claim{integrity: `{"emulator":true}`}, want: []string{ReasonEmulator}},
		{name: "fail/pa-missing", policy: model.Policy{RequirePlatformAttestation: true}, want: []string{ReasonPAMissing}, required: true},
		{name: "fail/pa-invalid", c: claim{pa: `{"format":"android-key"}`}, platform: &invalid, want: invalid.Reasons},
		{name: "fail/pa-invalid-required", c: claim{pa: `{"format":"android-key"}`}, platform: &invalid,
			policy: model.Policy{RequirePlatformAttestation: true}, want: invalid.Reasons, required: true},
		{name: "fail/pa-expired", c: claim{pa: `{"format":"receipt"}`}, platform: &PlatformResult{Reasons: []string{ReasonPAExpired}},
			want: []string{ReasonPAExpired}},
		{name: "fail/device-banned", ban: true, want: []string{ReasonDeviceBanned}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t, rigOptions{policy: tc.policy})
			if tc.platform != nil {
				r.platform.result = *tc.platform
			}
			d := newDevice(t)
			if tc.ban {
				k, _ := devicekey.Parse(mustB64u(t, d.spki))
				r.reg.banned[k.DID()] = true
			}
			out, err := r.genuine(d, tc.c)
			if err != nil {
				t.Fatalf("attest: %v", err)
			}
			if len(r.obs.verdicts) != 1 || !slices.Equal(r.obs.verdicts[0], tc.want) {
				t.Fatalf("observer heard %q, want %q", r.obs.verdicts, tc.want)
			}
			real, arc := r.verdictOf(out)
			if real != (tc.want == nil) {
				t.Errorf("token signed with the real key: %v, want %v", real, tc.want == nil)
			}
			if wantArc := strings.Join(tc.want, ","); tc.c.app == "" && arc != wantArc {
				t.Errorf("arc %q, want %q", arc, wantArc)
			}
			if got := bytes.Contains(out, []byte(`"platform_attestation":"required"`)); got != tc.required {
				t.Errorf("platform_attestation required: %v, want %v (%s)", got, tc.required, out)
			}
			if tc.c.app != "" && bytes.Contains(out, []byte(`"pins"`)) {
				t.Errorf("app_unknown answer has pins: %s", out)
			}
			wantClass := replay.Decoy
			if tc.want == nil {
				wantClass = replay.Real
			}
			if !slices.Equal(r.replay.uses, []replay.Class{wantClass}) {
				t.Errorf("nonce used as %v, want [%v]", r.replay.uses, wantClass)
			}
		})
	}
}

// TestVerdictReasonsInOrder: a request that fails everything at once lists
// every reason in §2's order.
func TestVerdictReasonsInOrder(t *testing.T) {
	for _, tc := range []struct {
		name   string
		c      claim
		policy model.Policy
		pa     *PlatformResult
		want   []string
	}{
		{"version-unknown-first",
			claim{platform: "ios", signer: &otherDigest, version: "9.9", integrity: `{"rooted":true,"debugger":true,"hooked":true,"emulator":true}`,
				pa: `{"format":"android-key"}`},
			model.Policy{RequirePlatformAttestation: true},
			&PlatformResult{Reasons: []string{ReasonPAInvalid, "android_chain"}},
			[]string{ReasonPlatformMismatch, ReasonSignerMismatch, ReasonVersionUnknown, ReasonRooted, ReasonDebugger, ReasonHooked,
				ReasonEmulator, ReasonPAInvalid, "android_chain", ReasonDeviceBanned}},
		{"measurement-and-missing",
			claim{code: &otherDigest, integrity: `{"emulator":true,"rooted":true}`},
			model.Policy{RequirePlatformAttestation: true}, nil,
			[]string{ReasonMeasurementMismatch, ReasonRooted, ReasonEmulator, ReasonPAMissing, ReasonDeviceBanned}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t, rigOptions{policy: tc.policy})
			if tc.pa != nil {
				r.platform.result = *tc.pa
			}
			d := newDevice(t)
			k, _ := devicekey.Parse(mustB64u(t, d.spki))
			r.reg.banned[k.DID()] = true
			out, err := r.genuine(d, tc.c)
			if err != nil {
				t.Fatal(err)
			}
			if _, arc := r.verdictOf(out); arc != strings.Join(tc.want, ",") {
				t.Errorf("arc %q, want %q", arc, strings.Join(tc.want, ","))
			}
			if !slices.Equal(r.obs.verdicts[0], tc.want) {
				t.Errorf("observer heard %q, want %q", r.obs.verdicts[0], tc.want)
			}
		})
	}
}

// TestProtocolChecksInOrder: a request that fails several protocol checks
// is answered by the first of §2's order, and none of them spends the
// nonce, charges the device's rate limit, runs the platform check or
// reaches a verdict.
func TestProtocolChecksInOrder(t *testing.T) {
	type sent struct {
		ct   string
		body []byte
		sig  []byte
		big  bool
	}
	for _, tc := range []struct {
		name string
		make func(r *rig, d *device) sent
		want apierr.Code
		// spare: the nonce must still be usable afterwards
		spare bool
	}{
		{"media-type-before-size", func(r *rig, d *device) sent { return sent{ct: "text/plain", big: true} }, apierr.UnsupportedMediaType, false},
		{"size-before-json", func(r *rig, d *device) sent {
			return sent{body: bytes.Repeat([]byte("{"), MaxBodyBytes+1)}
		}, apierr.BodyTooLarge, false},
		{"json-before-nonce", func(r *rig, d *device) sent { return sent{body: []byte(`{"nonce":`)} }, apierr.BadRequest, false},
		{"device-key-before-nonce", func(r *rig, d *device) sent {
			b := r.body(&device{spki: b64u(strings.Repeat("x", 65))}, claim{nonce: "v1.bogus"})
			return sent{body: b}
		}, apierr.BadRequest, false},
		{"nonce-invalid-before-signature", func(r *rig, d *device) sent {
			return sent{body: r.body(d, claim{nonce: "v1.n1." + strings.Repeat("A", 64)})}
		}, apierr.NonceInvalid, false},
		{"nonce-replayed-before-signature", func(r *rig, d *device) sent {
			n := r.nonce()
			b := r.body(d, claim{nonce: n})
			if _, err := r.attest(b, d.sign(r.t, b)); err != nil {
				r.t.Fatal(err)
			}
			r.obs.verdicts, r.replay.uses = nil, nil
			return sent{body: r.body(d, claim{nonce: n, integrity: `{"rooted":true}`}), sig: []byte("AAAA")}
		}, apierr.NonceReplayed, false},
		{"expired-and-replayed-is-expired", func(r *rig, d *device) sent {
			n := r.nonce()
			b := r.body(d, claim{nonce: n})
			if _, err := r.attest(b, d.sign(r.t, b)); err != nil {
				r.t.Fatal(err)
			}
			r.obs.verdicts, r.replay.uses = nil, nil
			r.advance(DefaultNonceTTL)
			return sent{body: b, sig: d.sign(r.t, b)}
		}, apierr.NonceExpired, false},
		{"signature-missing", func(r *rig, d *device) sent { return sent{body: r.body(d, claim{nonce: r.nonce()})} }, apierr.SignatureInvalid, true},
		{"signature-by-another-key", func(r *rig, d *device) sent {
			b := r.body(d, claim{nonce: r.nonce()})
			return sent{body: b, sig: newDevice(r.t).sign(r.t, b)}
		}, apierr.SignatureInvalid, true},
		{"signature-before-rate-limit", func(r *rig, d *device) sent {
			r.edge.cfg.Limits = &fakeLimits{refuse: true}
			return sent{body: r.body(d, claim{nonce: r.nonce()}), sig: []byte("AAAA")}
		}, apierr.SignatureInvalid, true},
		{"rate-limit-before-verdict", func(r *rig, d *device) sent {
			r.edge.cfg.Limits = &fakeLimits{refuse: true}
			b := r.body(d, claim{nonce: r.nonce(), pa: `{"format":"receipt"}`})
			return sent{body: b, sig: d.sign(r.t, b)}
		}, apierr.RateLimited, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t, rigOptions{})
			d := newDevice(t)
			s := tc.make(r, d)
			limits := &fakeLimits{}
			if r.edge.cfg.Limits == nil {
				r.edge.cfg.Limits = limits
			}
			if s.ct == "" {
				s.ct = "application/json"
			}
			before := r.reg.appCalls.Load()
			_, err := r.edge.AppendAttest(context.Background(), nil, Input{ContentType: []byte(s.ct), Body: s.body, Signature: s.sig, TooLarge: s.big})
			if code(err) != tc.want {
				t.Fatalf("answered %v, want %s", err, tc.want)
			}
			if n := r.replay.useCount(); n != 0 {
				t.Errorf("the nonce was used (%d uses)", n)
			}
			if r.obs.count() != 0 || r.platform.calls.Load() != 0 || r.reg.appCalls.Load() != before {
				t.Errorf("work done: %d verdicts, %d platform checks, %d app lookups", r.obs.count(), r.platform.calls.Load(), r.reg.appCalls.Load()-before)
			}
			if tc.want != apierr.RateLimited && limits.calls.Load() != 0 {
				t.Errorf("the device's rate limit was charged %d times", limits.calls.Load())
			}
			if !tc.spare {
				return
			}
			r.edge.cfg.Limits = nil
			var n struct{ Nonce string }
			if err := jsonField(s.body, &n); err != nil {
				t.Fatal(err)
			}
			b := r.body(d, claim{nonce: n.Nonce})
			out, err := r.attest(b, d.sign(t, b))
			if err != nil {
				t.Fatalf("the same nonce afterwards: %v", err)
			}
			if real, _ := r.verdictOf(out); !real {
				t.Fatal("the same nonce afterwards: not a pass")
			}
		})
	}
}

// TestDecideHasNoSideEffects: the verdict alone records nothing (no nonce
// used, no observer told, no rate limit charged); the same request can be
// decided twice with the same outcome.
func TestDecideHasNoSideEffects(t *testing.T) {
	limits := &fakeLimits{}
	r := newRig(t, rigOptions{limits: limits, policy: model.Policy{RequirePlatformAttestation: true}})
	d := newDevice(t)
	var req Request
	if err := ParseRequest(r.body(d, claim{nonce: r.nonce(), integrity: `{"hooked":true}`}), &req); err != nil {
		t.Fatal(err)
	}
	key, err := devicekey.Parse(req.DeviceKey)
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		dec, err := r.edge.decide(context.Background(), &req, key, key.DID(), r.clock(), nil)
		if err != nil {
			t.Fatal(err)
		}
		if want := []string{ReasonHooked, ReasonPAMissing}; !slices.Equal(dec.Reasons, want) || !dec.Required || dec.RealKey() ||
			dec.ReplayClass() != replay.Decoy || dec.App == nil || dec.Account == nil {
			t.Fatalf("decision %+v", dec)
		}
	}
	if r.replay.Len() != 0 || r.replay.useCount() != 0 || r.obs.count() != 0 || limits.calls.Load() != 0 {
		t.Fatalf("decide had side effects: %d pairs, %d verdicts, %d limit charges", r.replay.Len(), r.obs.count(), limits.calls.Load())
	}
}

// TestRegistryErrorSpendsNoNonce: when the edge cannot decide (its registry
// fails), the request is refused as the edge's fault and its nonce stays
// usable.
func TestRegistryErrorSpendsNoNonce(t *testing.T) {
	r := newRig(t, rigOptions{})
	r.reg.appErr = errors.New("store away")
	d := newDevice(t)
	b := r.body(d, claim{nonce: r.nonce()})
	sig := d.sign(t, b)
	if _, err := r.attest(b, sig); code(err) != apierr.Internal {
		t.Fatalf("registry failing: %v, want internal", err)
	}
	if r.replay.Len() != 0 || r.obs.count() != 0 {
		t.Fatal("the nonce was used or a verdict told")
	}
	r.reg.appErr = nil
	if _, err := r.attest(b, sig); err != nil {
		t.Fatalf("once the registry answers: %v", err)
	}
}

// TestPlatformCheckSkippedForUsedNonce: the costly platform check runs only
// for a nonce the replay set has not seen.
func TestPlatformCheckSkippedForUsedNonce(t *testing.T) {
	r := newRig(t, rigOptions{})
	d := newDevice(t)
	b := r.body(d, claim{nonce: r.nonce(), pa: `{"format":"android-key"}`})
	sig := d.sign(t, b)
	if _, err := r.attest(b, sig); err != nil {
		t.Fatal(err)
	}
	for range 5 {
		if _, err := r.attest(b, sig); code(err) != apierr.NonceReplayed {
			t.Fatalf("replay: %v", err)
		}
	}
	if n := r.platform.calls.Load(); n != 1 {
		t.Fatalf("%d platform checks, want 1", n)
	}
}

func mustB64u(t testing.TB, s string) []byte {
	t.Helper()
	b, err := b64uDecode(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
