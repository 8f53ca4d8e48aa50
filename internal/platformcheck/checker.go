// Package platformcheck is the core's platform attestation check (PROTOCOL.md
// §7, §9, §10): it decodes the request's platform_attestation, verifies
// evidence (verify/platform: android-key, apple-appattest, play-integrity
// with the app's Play keys) or a receipt (crypto/receipt) against the
// app's policy as it is now, and issues a receipt after an enrolment. An android-key receipt is checked on each use against the
// current status list (its chain's serials) and the §9 policy (what it
// recorded), and the status list's age decides, with the fail mode, whether
// android-key evidence and receipts are judged at all (status.go). It does
// no I/O: roots, the Android status list, the receipt keys, the nonce
// lifetime and the clock are given to it.
//
// Only the daemon and the core's tests import it. A *Checker is safe for
// concurrent use.
package platformcheck

import (
	"context"
	"crypto/x509"
	"errors"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/attestd/attestd/crypto/receipt"
	"github.com/attestd/attestd/internal/attest"
	"github.com/attestd/attestd/internal/registry"
	"github.com/attestd/attestd/internal/state"
	"github.com/attestd/attestd/verify/androidkey"
	vp "github.com/attestd/attestd/verify/platform"
	"github.com/attestd/attestd/verify/playintegrity"
)

// Deployment gives the current deployment keys (the registry does).
type Deployment interface {
	Deployment() (*state.Deployment, error)
}

// Config configures a Checker.
type Config struct {
	AndroidRoots []*x509.Certificate
	AppleRoots   []*x509.Certificate
	// ReceiptTTL is the lifetime of a new receipt (PROTOCOL.md §7).
	ReceiptTTL time.Duration
	Keys       Deployment
	// Status is how the Android status list's age is judged (§9); the
	// zero value never judges it (no --android-status).
	Status StatusPolicy
	// Log receives the status list's stale and fresh turns and the first
	// use of a receipt issued before §9; nil: none.
	Log *slog.Logger
	// NonceTTL is the deployment's nonce lifetime: how old a Play
	// Integrity token may be (PROTOCOL.md §10); 0 is the core's default.
	NonceTTL time.Duration
}

// Checker implements attest.Platform.
type Checker struct {
	cfg    Config
	status atomic.Pointer[statusState]
	ring   atomic.Pointer[ringFor]
	stats  counters
	// staleLogged: the list's stale turn was logged (reset by a fresh
	// list); legacyLogged: a receipt without serials was logged.
	staleLogged, legacyLogged atomic.Bool
}

type ringFor struct {
	dep  *state.Deployment
	ring *receipt.Keyring
}

// New returns a Checker.
func New(cfg Config) (*Checker, error) {
	if cfg.Keys == nil || cfg.ReceiptTTL <= 0 {
		return nil, errors.New("platform: deployment keys and a receipt TTL are required")
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.NonceTTL == 0 {
		cfg.NonceTTL = attest.DefaultNonceTTL
	}
	return &Checker{cfg: cfg}, nil
}

// keyring returns the receipt keyring of the current deployment keys,
// rebuilt only when they change.
func (c *Checker) keyring() (*receipt.Keyring, error) {
	dep, err := c.cfg.Keys.Deployment()
	if err != nil {
		return nil, err
	}
	if r := c.ring.Load(); r != nil && r.dep == dep {
		return r.ring, nil
	}
	ks := dep.Receipt
	var others []receipt.Key
	for _, kid := range ks.KIDs() {
		if kid != ks.Active {
			others = append(others, receipt.Key{ID: kid, Secret: ks.Keys[kid]})
		}
	}
	ring, err := receipt.NewKeyring(receipt.Key{ID: ks.Active, Secret: ks.ActiveKey()}, others...)
	if err != nil {
		return nil, err
	}
	c.ring.Store(&ringFor{dep: dep, ring: ring})
	return ring, nil
}

// policyOf is the app's policy for evidence sent with app.version version:
// ok is false when the app registers version codes and none for version.
func policyOf(app *registry.App, version []byte) (p vp.Policy, ok bool) {
	pol := &app.Policy
	p = vp.Policy{AndroidMinSecurity: pol.MinSecurity(), AllowUnlockedBootloader: pol.AllowUnlockedBootloader,
		AllowAppAttestDevelopment: pol.AllowAppattestDevelopment, AndroidAllowedBootKeys: app.BootKeys,
		PlayMinDevice: pol.PlayMinDevice, PlayRequireLicensed: pol.PlayRequireLicensed,
		PlayAllowUnrecognized: pol.PlayAllowUnrecognized, PlayRequirePlayProtect: pol.PlayRequirePlayProtect}
	if pol.AndroidMaxPatchAgeDays != nil {
		p.AndroidMaxPatchAgeDays = *pol.AndroidMaxPatchAgeDays
	}
	if pol.AndroidMinOSVersion != nil {
		p.AndroidMinOSVersion = *pol.AndroidMinOSVersion
	}
	if app.VersionCodes != nil {
		p.AndroidCheckVersionCode = true
		p.AndroidVersionCode, ok = app.VersionCodes[string(version)]
		return p, ok
	}
	return p, true
}

// receiptPolicy is the part of p a receipt is checked against by
// receipt.MeetsPolicy.
func receiptPolicy(p vp.Policy) receipt.Policy {
	return receipt.Policy{AndroidMinSecurity: p.AndroidMinSecurity, AllowUnlockedBootloader: p.AllowUnlockedBootloader,
		AllowAppAttestDevelopment: p.AllowAppAttestDevelopment, AndroidAllowedBootKeys: p.AndroidAllowedBootKeys,
		PlayMinDevice: p.PlayMinDevice, PlayRequireLicensed: p.PlayRequireLicensed,
		PlayAllowUnrecognized: p.PlayAllowUnrecognized, PlayRequirePlayProtect: p.PlayRequirePlayProtect}
}

// playReceipt is what a play-integrity receipt records of the verdicts.
func playReceipt(v playintegrity.Verdicts) receipt.PlayVerdicts {
	return receipt.PlayVerdicts{
		Basic: v.Labels&playintegrity.LabelBasic != 0, Device: v.Labels&playintegrity.LabelDevice != 0,
		Strong: v.Labels&playintegrity.LabelStrong != 0, Recognized: v.Recognized, Licensed: v.Licensed,
		PlayProtect: v.PlayProtect,
	}
}

// invalid is a refusal: platform_attestation_invalid, then the precise reason.
func invalid(precise string) attest.PlatformResult {
	return attest.PlatformResult{Reasons: []string{attest.ReasonPAInvalid, precise}}
}

// Check implements attest.Platform.
func (c *Checker) Check(_ context.Context, in attest.PlatformInput) attest.PlatformResult {
	ev, err := evidenceOf(in)
	if err != nil {
		return invalid(vp.Reason(err))
	}
	if ev.Format == vp.FormatReceipt {
		return c.checkReceipt(ev.Receipt, in)
	}
	app := in.App
	p, ok := policyOf(app, in.Version)
	android := ev.Format == vp.FormatAndroidKey && app.Platform == vp.PlatformAndroid
	if android && !ok {
		return invalid(androidkey.ReasonVersionCode)
	}
	var list *androidkey.StatusList
	if android {
		var fresh bool
		if list, fresh = c.statusFor(in.Now, useEvidence); !fresh {
			return invalid(androidkey.ReasonStatusStale)
		}
	}
	req := vp.Request{Platform: app.Platform, Nonce: in.Nonce, AppID: app.ID, TeamID: app.TeamID, Device: in.Device,
		PlayKeys: app.Play}
	copy(req.Signer[:], in.Signer[:])
	found, err := vp.Verify(req, ev, p, vp.Trust{
		AndroidRoots: c.cfg.AndroidRoots, AppleRoots: c.cfg.AppleRoots, AndroidStatus: list,
		NonceTTL: c.cfg.NonceTTL,
	}, in.Now)
	if err != nil {
		return invalid(vp.Reason(err))
	}
	return c.issue(app, in, found)
}

// evidenceOf decodes the request's evidence, from what the core read when
// it gives it (the bytes are read once), else from the raw object.
func evidenceOf(in attest.PlatformInput) (vp.Evidence, error) {
	if in.Evidence != nil {
		return in.Evidence.Evidence()
	}
	return vp.ParseEvidence(in.Raw)
}

// issue makes the receipt of a hardware enrolment: what was found and,
// for android-key, the chain's serials and the §9 fields.
func (c *Checker) issue(app *registry.App, in attest.PlatformInput, found vp.Findings) attest.PlatformResult {
	ring, err := c.keyring()
	if err != nil {
		return invalid("receipt_keys_unavailable")
	}
	r := receipt.Receipt{
		AppID: app.ID, DID: in.Device.DID(), Format: found.Format, SecurityLevel: found.SecurityLevel,
		BootState: found.BootState, DeviceLocked: found.DeviceLocked, Environment: found.Environment,
		Play: playReceipt(found.Play), ExpiresAt: in.Now.Add(c.cfg.ReceiptTTL),
	}
	if found.Format == receipt.FormatAndroidKey {
		if r.Android, err = androidRecord(found); err != nil {
			return invalid("receipt_issue_failed")
		}
	}
	s, err := ring.Issue(r, in.Now)
	if err != nil {
		return invalid("receipt_issue_failed")
	}
	return attest.PlatformResult{Verified: true, Receipt: s}
}

// androidRecord is what an android-key receipt records of the findings.
func androidRecord(found vp.Findings) (receipt.Android, error) {
	serials, err := receipt.PackSerials(found.Serials)
	if err != nil {
		return receipt.Android{}, err
	}
	a := found.Attested
	r := receipt.Android{
		Serials: serials, OSVersion: a.OSVersion, OSPatchLevel: a.OSPatchLevel, VendorPatchLevel: a.VendorPatchLevel,
		BootPatchLevel: a.BootPatchLevel, VersionCode: a.VersionCode, HasVersionCode: a.HasVersionCode,
	}
	if a.BootState == androidkey.BootSelfSigned {
		r.BootKey, r.HasBootKey = a.BootKey, true // the policy reads no other's
	}
	return r, nil
}

// checkReceipt: a MAC, the binding to this app and device, a format of the
// app's platform (§7 1.1: an android-key receipt for an ios app is
// refused, receipt_platform), and the policy as it is now; for an
// android-key receipt, then, the status list (checkAndroidReceipt).
func (c *Checker) checkReceipt(s string, in attest.PlatformInput) attest.PlatformResult {
	ring, err := c.keyring()
	if err != nil {
		return invalid("receipt_keys_unavailable")
	}
	r, err := ring.Check(s, in.Now)
	if errors.Is(err, receipt.ErrExpired) {
		return attest.PlatformResult{Reasons: []string{attest.ReasonPAExpired}}
	}
	if err == nil {
		err = r.BoundTo(in.App.ID, in.Device.DID())
	}
	if err == nil {
		err = r.ForPlatform(in.App.Platform)
	}
	p, ok := policyOf(in.App, in.Version)
	if err == nil {
		err = receipt.MeetsPolicy(r, receiptPolicy(p))
	}
	if err != nil {
		return invalid(receipt.Reason(err))
	}
	if r.Format == receipt.FormatAndroidKey {
		if !ok {
			return invalid(androidkey.ReasonVersionCode)
		}
		if reason := c.checkAndroidReceipt(&r, p, in.Now); reason != "" {
			return invalid(reason)
		}
	}
	return attest.PlatformResult{Verified: true}
}

// checkAndroidReceipt checks an android-key receipt as §9 wants on each
// use: the status list is fresh enough (or the fail mode is open), no
// certificate of its chain is in it, and what it recorded meets the §9
// policy now. It returns the precise reason of a refusal, or "".
//
// A receipt issued before §9 recorded no serials: it is accepted until it
// expires (a deployment's receipts would otherwise all fail at once when
// it upgrades, and nodes not yet upgraded go on issuing such receipts
// during a rolling upgrade), counted, and logged once per process; the §9
// policy members, which it did not record either, refuse it.
func (c *Checker) checkAndroidReceipt(r *receipt.Receipt, p vp.Policy, now time.Time) string {
	list, fresh := c.statusFor(now, useReceipt)
	if !fresh {
		return androidkey.ReasonStatusStale
	}
	if r.Android.Serials == "" {
		c.stats.legacyReceipts.Add(1)
		if !c.legacyLogged.Swap(true) {
			c.cfg.Log.Warn("android-key receipt issued before receipts recorded their chain accepted: it cannot follow revocation until it expires (counted in attestd_android_receipts_without_serials_total)",
				"expires", r.ExpiresAt)
		}
	}
	for s := range r.Android.Serials.All() {
		if _, revoked := list.LookupSerial(s); revoked {
			return androidkey.ReasonRevoked
		}
	}
	a := r.Android
	err := androidkey.CheckFields(androidkey.Attested{
		OSVersion: a.OSVersion, OSPatchLevel: a.OSPatchLevel, VendorPatchLevel: a.VendorPatchLevel, BootPatchLevel: a.BootPatchLevel,
		VersionCode: a.VersionCode, HasVersionCode: a.HasVersionCode,
	}, p.Android(androidkey.LevelUnspecified), now)
	return androidkey.Reason(err)
}
