// Package platform is the core's platform attestation check (PROTOCOL.md
// §7, §10): it decodes the request's platform_attestation, verifies
// evidence (verify/platform: android-key, apple-appattest, play-integrity
// with the app's Play keys) or a receipt (crypto/receipt) against the
// app's policy as it is now, and issues a receipt after an enrolment. It
// does no I/O: roots, the Android status list, the receipt keys, the nonce
// lifetime and the clock are given to it.
//
// Only the daemon and the core's tests import it. A *Checker is safe for
// concurrent use.
package platform

import (
	"context"
	"crypto/x509"
	"errors"
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
	// NonceTTL is the deployment's nonce lifetime: how old a Play
	// Integrity token may be (PROTOCOL.md §10); 0 is the core's default.
	NonceTTL time.Duration
}

// Checker implements attest.Platform.
type Checker struct {
	cfg    Config
	status atomic.Pointer[androidkey.StatusList]
	ring   atomic.Pointer[ringFor]
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
	if cfg.NonceTTL == 0 {
		cfg.NonceTTL = attest.DefaultNonceTTL
	}
	return &Checker{cfg: cfg}, nil
}

// SetStatusList installs a new Android attestation status list (nil: none).
func (c *Checker) SetStatusList(l *androidkey.StatusList) { c.status.Store(l) }

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

func policyOf(app *registry.App) vp.Policy {
	p := &app.Policy
	return vp.Policy{AndroidMinSecurity: p.MinSecurity(), AllowUnlockedBootloader: p.AllowUnlockedBootloader,
		AllowAppAttestDevelopment: p.AllowAppattestDevelopment,
		PlayMinDevice:             p.PlayMinDevice, PlayRequireLicensed: p.PlayRequireLicensed,
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
	ev, err := vp.ParseEvidence(in.Raw)
	if err != nil {
		return invalid(vp.Reason(err))
	}
	if ev.Format == vp.FormatReceipt {
		return c.checkReceipt(ev.Receipt, in)
	}
	app := in.App
	req := vp.Request{Platform: app.Platform, Nonce: in.Nonce, AppID: app.ID, TeamID: app.TeamID, Device: in.Device,
		PlayKeys: app.Play}
	copy(req.Signer[:], in.Signer[:])
	found, err := vp.Verify(req, ev, policyOf(app), vp.Trust{
		AndroidRoots: c.cfg.AndroidRoots, AppleRoots: c.cfg.AppleRoots, AndroidStatus: c.status.Load(),
		NonceTTL: c.cfg.NonceTTL,
	}, in.Now)
	if err != nil {
		return invalid(vp.Reason(err))
	}
	ring, err := c.keyring()
	if err != nil {
		return invalid("receipt_keys_unavailable")
	}
	r, err := ring.Issue(receipt.Receipt{
		AppID: app.ID, DID: in.Device.DID(), Format: found.Format, SecurityLevel: found.SecurityLevel,
		BootState: found.BootState, DeviceLocked: found.DeviceLocked, Environment: found.Environment,
		Play: playReceipt(found.Play), ExpiresAt: in.Now.Add(c.cfg.ReceiptTTL),
	}, in.Now)
	if err != nil {
		return invalid("receipt_issue_failed")
	}
	return attest.PlatformResult{Verified: true, Receipt: r}
}

// checkReceipt: a MAC, the binding to this app and device, a format of the
// app's platform (§7 1.1: an android-key receipt for an ios app is
// refused, receipt_platform), and the policy as it is now.
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
	if err == nil {
		p := policyOf(in.App)
		err = receipt.MeetsPolicy(r, receipt.Policy(p))
	}
	if err != nil {
		return invalid(receipt.Reason(err))
	}
	return attest.PlatformResult{Verified: true}
}
