package attest

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"time"

	"github.com/attestd/attestd/internal/registry"
	"github.com/attestd/attestd/internal/replay"
	"github.com/attestd/attestd/verify/devicekey"
)

// Decision is the verdict on one attest request whose nonce and signature
// checked out (PROTOCOL.md §2-5, §7): everything the answer will say, and
// nothing done yet. decide makes it; appendAnswer writes it.
type Decision struct {
	// App and Account are the registered app and its account; both are
	// nil when the app is unknown, and Reasons is then [app_unknown].
	App     *registry.App
	Account *registry.Account
	// Reasons are the reasons the verdict failed, in the order of §2 (a
	// platform refusal adds its precise reasons after its §2 one); empty
	// when it passed. It is built in the scratch slice given to decide.
	Reasons []string
	// Platform is the outcome of the platform evidence or receipt the
	// request carried (zero when it carried none): Receipt is sent on a
	// pass that verified hardware evidence.
	Platform PlatformResult
	// Required: the app's policy requires platform attestation and the
	// request brought no valid evidence or receipt; the answer says
	// "platform_attestation": "required" (§7).
	Required bool
	// Monitor: the app is in monitor mode (§11); never for app_unknown.
	Monitor bool
	// Debug is the request's debug token (§11), Outcome DebugNone when it
	// carried none.
	Debug DebugUse
}

// Passed reports whether the verdict passed.
func (d *Decision) Passed() bool { return len(d.Reasons) == 0 }

// RealKey reports whether the answer's token is signed with the account's
// real key: a pass, or any verdict of an app in monitor mode (§11);
// otherwise it is a decoy (§3).
func (d *Decision) RealKey() bool { return d.Account != nil && (d.Passed() || d.Monitor) }

// Secrets reports whether the answer may carry the app's runtime secrets
// (when asked): only on a pass, and on a pass made with a debug token only
// when that token was made with --secrets (§4, §11).
func (d *Decision) Secrets() bool {
	return d.Passed() && (d.Debug.Outcome != DebugAccepted || d.Debug.Secrets)
}

// ReplayClass is the replay set's budget the request's nonce is spent
// from: Real for a pass of a genuine app; Monitor for the other tokens
// signed with the account's key (monitor-mode failures, which anyone who
// knows the app's id can make, and debug-token verdicts); Decoy for every
// other. So neither decoys nor monitor-mode failures can deny genuine
// devices.
func (d *Decision) ReplayClass() replay.Class {
	switch {
	case !d.RealKey():
		return replay.Decoy
	case d.Passed() && d.Debug.Outcome != DebugAccepted:
		return replay.Real
	}
	return replay.Monitor
}

// decide is the verdict of §2 on r, sent with device key key (whose did
// is did) at now, with no side effect: it reads the registry and runs the
// platform check, records nothing and tells no observer. Reasons are
// appended to reasons[:0]. An error is the edge's own (a registry that
// cannot answer), never the request's.
//
// The order of the reasons is §2's: app_unknown (alone),
// debug_token_invalid, platform_mismatch, signer_mismatch, version_unknown
// or measurement_mismatch, rooted, debugger, hooked, emulator, the
// platform evidence's reasons or platform_attestation_missing,
// device_banned.
//
// A live debug token of the app (§11) waives signer, version, measurement,
// integrity flags and platform attestation (evidence sent along is not
// checked, so no receipt comes of it); the platform, the bans (and, before
// the verdict, the nonce and signature) still apply. A debug token that is
// not one adds debug_token_invalid to the reasons of a request judged as
// if it carried none.
func (e *Edge) decide(ctx context.Context, r *Request, key devicekey.Key, did string, now time.Time, reasons []string) (Decision, error) {
	app, ok, err := e.cfg.Registry.App(r.AppID)
	if err != nil {
		return Decision{}, fmt.Errorf("attest: app: %w", err)
	}
	if !ok {
		d := Decision{Reasons: append(reasons[:0], ReasonAppUnknown)}
		if r.HasDebugToken {
			d.Debug, err = e.debugToken(r.DebugToken, nil, now)
		}
		return d, err
	}
	acct, ok, err := e.cfg.Registry.Account(app.Account)
	if err != nil || !ok {
		return Decision{}, fmt.Errorf("attest: account %q of app %q: %w", app.Account, app.ID, errMissing(err))
	}
	d := Decision{App: app, Account: acct, Monitor: app.Monitor}
	reasons = reasons[:0]
	if r.HasDebugToken {
		if d.Debug, err = e.debugToken(r.DebugToken, app, now); err != nil {
			return Decision{}, err
		}
		if d.Debug.Outcome != DebugAccepted {
			reasons = append(reasons, ReasonDebugTokenInvalid)
		}
	}
	if d.Debug.Outcome == DebugAccepted {
		if string(r.Platform) != app.Platform {
			reasons = append(reasons, ReasonPlatformMismatch)
		}
	} else {
		reasons = e.genuineReasons(ctx, &d, reasons, r, key, now)
	}
	if e.cfg.Registry.Banned(did) {
		reasons = append(reasons, ReasonDeviceBanned)
	}
	d.Reasons = reasons
	return d, nil
}

// genuineReasons appends the reasons of the checks that a debug token
// waives: the app's registration and policy, then the platform evidence
// (whose outcome it records in d).
func (e *Edge) genuineReasons(ctx context.Context, d *Decision, reasons []string, r *Request, key devicekey.Key, now time.Time) []string {
	app := d.App
	reasons = appReasons(reasons, r, app)
	if r.PlatformAttestation != nil {
		d.Platform = e.cfg.Platform.Check(ctx, PlatformInput{
			Raw: r.PlatformAttestation, Evidence: &r.Evidence, App: app, Nonce: r.Nonce,
			DeviceKey: r.DeviceKey, Device: key, Signer: r.Signer, Version: r.Version, Now: now,
		})
		if !d.Platform.Verified {
			reasons = append(reasons, d.Platform.Reasons...)
		}
	}
	d.Required = app.Policy.RequirePlatformAttestation && !d.Platform.Verified
	if d.Required && r.PlatformAttestation == nil {
		reasons = append(reasons, ReasonPAMissing)
	}
	return reasons
}

// appReasons appends the reasons that the request's own claims fail the
// app's registration and policy for, in §2's order.
func appReasons(reasons []string, r *Request, app *registry.App) []string {
	if string(r.Platform) != app.Platform {
		reasons = append(reasons, ReasonPlatformMismatch)
	}
	if !signerKnown(app.Signers, &r.Signer) {
		reasons = append(reasons, ReasonSignerMismatch)
	}
	if digest, ok := app.Versions[string(r.Version)]; !ok {
		reasons = append(reasons, ReasonVersionUnknown)
	} else if !measurementOK(&digest, r.Nonce, &r.Measurement) {
		reasons = append(reasons, ReasonMeasurementMismatch)
	}
	p := &app.Policy
	if r.Integrity.Rooted && !p.AllowRooted {
		reasons = append(reasons, ReasonRooted)
	}
	if r.Integrity.Debugger && !p.AllowDebugger {
		reasons = append(reasons, ReasonDebugger)
	}
	if r.Integrity.Hooked && !p.AllowHooked {
		reasons = append(reasons, ReasonHooked)
	}
	if r.Integrity.Emulator && !p.AllowEmulator {
		reasons = append(reasons, ReasonEmulator)
	}
	return reasons
}

func signerKnown(signers [][32]byte, s *[32]byte) bool {
	found := 0
	for i := range signers {
		found |= subtle.ConstantTimeCompare(signers[i][:], s[:])
	}
	return found == 1
}

// measurementOK checks measurement = HMAC-SHA256(key = code digest, message
// = nonce ASCII bytes), in constant time, without allocating.
func measurementOK(digest *[32]byte, nonce []byte, got *[32]byte) bool {
	var buf [64 + 256]byte
	if len(nonce) > 256 {
		return false
	}
	for i := 0; i < 64; i++ {
		k := byte(0)
		if i < 32 {
			k = digest[i]
		}
		buf[i] = k ^ 0x36
	}
	copy(buf[64:], nonce)
	inner := sha256.Sum256(buf[:64+len(nonce)])
	for i := 0; i < 64; i++ {
		k := byte(0)
		if i < 32 {
			k = digest[i]
		}
		buf[i] = k ^ 0x5c
	}
	copy(buf[64:], inner[:])
	mac := sha256.Sum256(buf[:96])
	return subtle.ConstantTimeCompare(mac[:], got[:]) == 1
}

func errMissing(err error) error {
	if err != nil {
		return err
	}
	return errAccountMissing
}
