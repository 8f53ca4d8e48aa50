package attest

import (
	"bytes"
	"errors"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/attestd/attestd/internal/apierr"
	"github.com/attestd/attestd/internal/model"
	"github.com/attestd/attestd/internal/registry"
	"github.com/attestd/attestd/internal/replay"
	"github.com/attestd/attestd/verify/devicekey"
)

// Debug tokens of the rig: the registry knows them by their text.
const (
	dtLive     = "adt_live_token_of_the_rig_app_________________"
	dtSecrets  = "adt_live_token_with_secrets___________________"
	dtExpired  = "adt_expired_token_of_the_rig_app______________"
	dtOtherApp = "adt_token_of_another_app______________________"
	dtOtherAcc = "adt_token_of_this_app_id_under_another_account"
)

func debugRig(t *testing.T, o rigOptions) *rig {
	r := newRig(t, o)
	exp := r.clock().Add(time.Hour).Unix()
	r.reg.debug = map[string]registry.DebugToken{
		dtLive:     {Name: "ci-runner", Account: rigAccount, App: rigApp, ExpiresAt: exp},
		dtSecrets:  {Name: "qa-device", Account: rigAccount, App: rigApp, ExpiresAt: exp, Secrets: true},
		dtExpired:  {Name: "old", Account: rigAccount, App: rigApp, ExpiresAt: r.clock().Unix()},
		dtOtherApp: {Name: "theirs", Account: rigAccount, App: "com.example.other", ExpiresAt: exp},
		dtOtherAcc: {Name: "moved", Account: "another", App: rigApp, ExpiresAt: exp},
	}
	return r
}

func quoted(s string) string { return strconv.Quote(s) }

// emulatorBuild is a debug build on an emulator: wrong signer, unknown
// version, every integrity flag, no platform attestation although the
// policy requires it.
func emulatorBuild(tok string) claim {
	return claim{signer: &otherDigest, version: "0.0.0-dev", integrity: `{"rooted":true,"debugger":true,"hooked":true,"emulator":true}`,
		debugToken: quoted(tok)}
}

var strict = model.Policy{RequirePlatformAttestation: true}

// TestDebugTokenWaivesGenuineAppChecks: a live debug token of the app
// makes a build with the wrong signer, version and measurement, every
// integrity flag and no platform attestation pass, with a real-key token
// that carries dbg, no secrets (the token was made without --secrets), no
// receipt, no platform check run, and a Monitor replay use.
func TestDebugTokenWaivesGenuineAppChecks(t *testing.T) {
	for _, c := range []claim{emulatorBuild(dtLive), {code: &otherDigest, debugToken: quoted(dtLive), pa: `{"format":"android-key"}`}} {
		r := debugRig(t, rigOptions{policy: strict})
		r.platform.result = PlatformResult{Verified: true, Receipt: "RECEIPT"}
		c.wantSecrets = true
		out, err := r.genuine(newDevice(t), c)
		if err != nil {
			t.Fatal(err)
		}
		real, cl, m := r.answerOf(out)
		if !real || str(cl.Arc) != "" || str(cl.Dbg) != "ci-runner" || cl.Mon != nil {
			t.Fatalf("real %v arc %q dbg %q mon %v", real, str(cl.Arc), str(cl.Dbg), cl.Mon)
		}
		if m["secrets"] != nil || m["receipt"] != nil || m["platform_attestation"] != nil || m["pins"] == nil {
			t.Fatalf("answer %s", out)
		}
		if r.platform.calls.Load() != 0 {
			t.Fatal("the platform check ran")
		}
		if !slices.Equal(r.replay.uses, []replay.Class{replay.Monitor}) {
			t.Fatalf("nonce used as %v, want Monitor", r.replay.uses)
		}
		if o := r.obs.outcomes[0]; !o.Passed || o.Debug != DebugAccepted || o.DebugName != "ci-runner" || o.App != rigApp || o.Device == "" {
			t.Fatalf("observer heard %+v", o)
		}
	}
}

// TestDebugTokenSecretsOnlyWithSecretsFlag: secrets are released on a
// debug-token pass only if the token was made with --secrets.
func TestDebugTokenSecretsOnlyWithSecretsFlag(t *testing.T) {
	r := debugRig(t, rigOptions{})
	for tok, want := range map[string]bool{dtLive: false, dtSecrets: true} {
		c := emulatorBuild(tok)
		c.wantSecrets = true
		out, err := r.genuine(newDevice(t), c)
		if err != nil {
			t.Fatal(err)
		}
		if real, _, m := r.answerOf(out); !real || (m["secrets"] != nil) != want {
			t.Errorf("token %s: real %v, secrets %v, want %v", tok[:12], real, m["secrets"] != nil, want)
		}
	}
}

// TestInvalidDebugTokenFails: a debug token that is unknown, expired, of
// another app or of this app id under another account, malformed or
// empty fails the verdict with debug_token_invalid, first, with the
// reasons of the request judged without it; the token is a decoy.
func TestInvalidDebugTokenFails(t *testing.T) {
	for _, tc := range []struct {
		name    string
		tok     string
		outcome DebugOutcome
		dbgName string
	}{
		{"unknown", quoted("adt_" + strings.Repeat("x", 43)), DebugUnknown, ""},
		{"expired", quoted(dtExpired), DebugExpired, "old"},
		{"other-app", quoted(dtOtherApp), DebugOtherApp, "theirs"},
		{"other-account", quoted(dtOtherAcc), DebugOtherApp, "moved"},
		{"malformed", quoted("not a token"), DebugUnknown, ""},
		{"empty", `""`, DebugUnknown, ""},
		{"escaped-live-token-of-other-app", `"adt_token_of_another_app______________________\u0000"`, DebugUnknown, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := debugRig(t, rigOptions{policy: strict})
			c := emulatorBuild("")
			c.debugToken, c.wantSecrets = tc.tok, true
			out, err := r.genuine(newDevice(t), c)
			if err != nil {
				t.Fatal(err)
			}
			real, cl, m := r.answerOf(out)
			want := strings.Join([]string{ReasonDebugTokenInvalid, ReasonSignerMismatch, ReasonVersionUnknown,
				ReasonRooted, ReasonDebugger, ReasonHooked, ReasonEmulator, ReasonPAMissing}, ",")
			if real || str(cl.Arc) != want || cl.Dbg != nil || m["secrets"] != nil {
				t.Fatalf("real %v arc %q dbg %q secrets %v", real, str(cl.Arc), str(cl.Dbg), m["secrets"] != nil)
			}
			if !bytes.Contains(out, []byte(`"platform_attestation":"required"`)) {
				t.Fatal("the platform_attestation hint went")
			}
			if o := r.obs.outcomes[0]; o.Debug != tc.outcome || o.DebugName != tc.dbgName {
				t.Fatalf("observer heard %v %q, want %v %q", o.Debug, o.DebugName, tc.outcome, tc.dbgName)
			}
		})
	}
}

// TestExpiredDebugTokenFailsOnTheClock: a token is live while now is
// before its expiry, by the injected clock.
func TestExpiredDebugTokenFailsOnTheClock(t *testing.T) {
	r := debugRig(t, rigOptions{})
	for _, step := range []struct {
		advance time.Duration
		pass    bool
	}{{0, true}, {time.Hour - time.Second, true}, {time.Second, false}} {
		r.advance(step.advance)
		out, err := r.genuine(newDevice(t), emulatorBuild(dtLive))
		if err != nil {
			t.Fatal(err)
		}
		if real, cl, _ := r.answerOf(out); real != step.pass || (!step.pass && !strings.HasPrefix(str(cl.Arc), ReasonDebugTokenInvalid)) {
			t.Fatalf("after %v: real %v, arc %q", step.advance, real, str(cl.Arc))
		}
	}
}

// TestDebugTokenKeepsBansAndPlatform: with a live debug token, a banned
// device and a request for the other platform still fail; the nonce and
// the signature are checked before any of it.
func TestDebugTokenKeepsBansAndPlatform(t *testing.T) {
	r := debugRig(t, rigOptions{})
	d := newDevice(t)
	k, _ := devicekey.Parse(mustB64u(t, d.spki))
	r.reg.banned[k.DID()] = true
	for _, tc := range []struct {
		c    claim
		want string
	}{
		{emulatorBuild(dtLive), ReasonDeviceBanned},
		{claim{platform: "ios", debugToken: quoted(dtLive)}, ReasonPlatformMismatch + "," + ReasonDeviceBanned},
	} {
		out, err := r.genuine(d, tc.c)
		if err != nil {
			t.Fatal(err)
		}
		if real, cl, _ := r.answerOf(out); real || str(cl.Arc) != tc.want || str(cl.Dbg) != "ci-runner" {
			t.Fatalf("real %v arc %q dbg %q, want a decoy with arc %q", real, str(cl.Arc), str(cl.Dbg), tc.want)
		}
	}
	b := r.body(d, emulatorBuild(dtLive))
	if _, err := r.attest(b, d.sign(t, b)); code(err) != apierr.NonceInvalid {
		t.Fatalf("no nonce: %v", err)
	}
	b = r.body(d, claim{nonce: r.nonce(), debugToken: quoted(dtLive)})
	if _, err := r.attest(b, newDevice(t).sign(t, b)); code(err) != apierr.SignatureInvalid {
		t.Fatalf("another key's signature: %v", err)
	}
	if n := r.reg.debugCalls.Load(); n != 2 {
		t.Fatalf("%d debug token lookups, want 2 (none before the signature)", n)
	}
}

// TestDebugTokenInMonitorMode: in monitor mode a debug-token pass carries
// mon, dbg and an empty arc; an invalid one is a monitor-mode failure.
func TestDebugTokenInMonitorMode(t *testing.T) {
	r := debugRig(t, rigOptions{policy: model.Policy{Enforcement: model.EnforcementMonitor}})
	out, err := r.genuine(newDevice(t), emulatorBuild(dtLive))
	if err != nil {
		t.Fatal(err)
	}
	if real, cl, _ := r.answerOf(out); !real || cl.Mon == nil || str(cl.Arc) != "" || str(cl.Dbg) != "ci-runner" {
		t.Fatalf("pass: real %v mon %v arc %q dbg %q", real, cl.Mon, str(cl.Arc), str(cl.Dbg))
	}
	out, err = r.genuine(newDevice(t), claim{debugToken: quoted(dtExpired)})
	if err != nil {
		t.Fatal(err)
	}
	if real, cl, _ := r.answerOf(out); !real || cl.Mon == nil || str(cl.Arc) != ReasonDebugTokenInvalid || cl.Dbg != nil {
		t.Fatalf("expired: real %v mon %v arc %q dbg %q", real, cl.Mon, str(cl.Arc), str(cl.Dbg))
	}
	if !slices.Equal(r.replay.uses, []replay.Class{replay.Monitor, replay.Monitor}) {
		t.Fatalf("nonces used as %v", r.replay.uses)
	}
}

// TestDebugTokenForUnknownApp: the verdict stays app_unknown alone (the
// decoy of §3), and the use is told as another app's.
func TestDebugTokenForUnknownApp(t *testing.T) {
	r := debugRig(t, rigOptions{})
	out, err := r.genuine(newDevice(t), claim{app: "com.example.other", debugToken: quoted(dtOtherApp)})
	if err != nil {
		t.Fatal(err)
	}
	if real, cl, _ := r.answerOf(out); real || cl.Arc != nil || cl.Dbg != nil {
		t.Fatalf("real %v arc %v dbg %v", real, cl.Arc, cl.Dbg)
	}
	if o := r.obs.outcomes[0]; !slices.Equal(o.Reasons, []string{ReasonAppUnknown}) || o.Debug != DebugOtherApp || o.App != "" {
		t.Fatalf("observer heard %+v", o)
	}
}

// TestNullDebugTokenIsAbsent: "debug_token": null is no debug token: no
// lookup, a normal verdict.
func TestNullDebugTokenIsAbsent(t *testing.T) {
	r := debugRig(t, rigOptions{})
	out, err := r.genuine(newDevice(t), claim{debugToken: "null"})
	if err != nil {
		t.Fatal(err)
	}
	if real, cl, _ := r.answerOf(out); !real || cl.Dbg != nil || r.reg.debugCalls.Load() != 0 || r.obs.outcomes[0].Debug != DebugNone {
		t.Fatalf("real %v dbg %v lookups %d", real, cl.Dbg, r.reg.debugCalls.Load())
	}
}

// TestDebugTokenLookupErrorSpendsNoNonce: a registry that cannot look a
// debug token up is the edge's fault; the nonce stays usable.
func TestDebugTokenLookupErrorSpendsNoNonce(t *testing.T) {
	r := debugRig(t, rigOptions{})
	r.reg.debugErr = errors.New("store away")
	d := newDevice(t)
	b := r.body(d, claim{nonce: r.nonce(), debugToken: quoted(dtLive)})
	sig := d.sign(t, b)
	if _, err := r.attest(b, sig); code(err) != apierr.Internal {
		t.Fatalf("lookup failing: %v", err)
	}
	if r.replay.Len() != 0 || r.obs.count() != 0 {
		t.Fatal("the nonce was used or a verdict told")
	}
	r.reg.debugErr = nil
	if _, err := r.attest(b, sig); err != nil {
		t.Fatal(err)
	}
}
