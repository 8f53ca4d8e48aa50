package platform

import (
	"crypto/sha256"
	"crypto/x509"
	"fmt"
	"time"

	"github.com/attestd/attestd/verify/androidkey"
	"github.com/attestd/attestd/verify/appleattest"
	"github.com/attestd/attestd/verify/devicekey"
	"github.com/attestd/attestd/verify/playintegrity"
)

// DefaultNonceTTL is the nonce lifetime of a Trust that names none (the
// attest core's default, PROTOCOL.md §1).
const DefaultNonceTTL = 60 * time.Second

// App platforms (app.platform).
const (
	PlatformAndroid = "android"
	PlatformIOS     = "ios"
)

// Policy holds the app's §8 policy fields for platform evidence. The zero
// value is the strict default (TEE, locked and verified, production; Play
// Integrity: PLAY_RECOGNIZED and MEETS_DEVICE_INTEGRITY).
type Policy struct {
	AndroidMinSecurity        string // "software", "tee" or "strongbox"; "" is "tee"
	AllowUnlockedBootloader   bool
	AllowAppAttestDevelopment bool
	// Android §9 (androidkey.Policy's fields of the same names): the
	// allowed boot keys, the patch age in days and the minimum OS version
	// (0: no check), and the version code registered for the request's
	// app.version when AndroidCheckVersionCode.
	AndroidAllowedBootKeys  [][32]byte
	AndroidMaxPatchAgeDays  int
	AndroidMinOSVersion     int64
	AndroidCheckVersionCode bool
	AndroidVersionCode      int64
	// Play Integrity (§10): play_min_device ("basic", "device" or
	// "strong"; "" is "device") and the other play_* fields.
	PlayMinDevice          string
	PlayRequireLicensed    bool
	PlayAllowUnrecognized  bool
	PlayRequirePlayProtect bool
}

// Android is the androidkey.Policy of p.
func (p Policy) Android(level androidkey.SecurityLevel) androidkey.Policy {
	return androidkey.Policy{
		MinSecurity: level, AllowUnlockedBootloader: p.AllowUnlockedBootloader,
		AllowedBootKeys: p.AndroidAllowedBootKeys, MaxPatchAgeDays: p.AndroidMaxPatchAgeDays, MinOSVersion: p.AndroidMinOSVersion,
		CheckVersionCode: p.AndroidCheckVersionCode, VersionCode: p.AndroidVersionCode,
	}
}

// Trust is the deployment's configuration: the roots (built-in or from
// --android-roots and --apple-roots) and the Android status list (nil: an
// empty list). It is only read.
type Trust struct {
	AndroidRoots  []*x509.Certificate
	AppleRoots    []*x509.Certificate
	AndroidStatus *androidkey.StatusList
	// NonceTTL is the deployment's nonce lifetime: how old a Play
	// Integrity token's timestamp may be (§10); 0 is DefaultNonceTTL.
	NonceTTL time.Duration
}

// Request is what the evidence must match: the attest request's nonce, app
// and device key, and the app's record.
type Request struct {
	Platform string // PlatformAndroid or PlatformIOS
	Nonce    []byte // ASCII bytes as sent
	AppID    string
	TeamID   string   // iOS apps
	Signer   [32]byte // app.signer, raw (Android)
	Device   devicekey.Key
	// PlayKeys are the app's Play Integrity keys (nil: none).
	PlayKeys *playintegrity.KeySet
}

// Findings is what verified evidence showed: the fields a receipt records,
// with the names crypto/receipt uses.
type Findings struct {
	Format             string
	SecurityLevel      string // Android: "software", "tee", "strongbox" (the lower of both levels)
	BootState          string // Android: "verified", "self_signed", "unverified", "failed"
	DeviceLocked       bool   // Android
	Environment        string // Apple: "production", "development"
	AttestationVersion int64  // Android
	// Android §9: what the key description attested, and the chain's
	// serial numbers (androidkey.Result's).
	Attested androidkey.Attested
	Serials  [][]byte
	// Play is what a Play Integrity verdict held (format play-integrity).
	Play playintegrity.Verdicts
}

// ClientDataHash is the App Attest client data hash of §7:
// SHA-256(nonce ‖ device key as SPKI DER), the SPKI whichever encoding of
// the key the request sent.
func ClientDataHash(nonce []byte, device devicekey.Key) [32]byte {
	h := sha256.New()
	h.Write(nonce)
	h.Write(device.SPKI())
	var out [32]byte
	h.Sum(out[:0])
	return out
}

// Verify checks hardware evidence (not a receipt) for req under the policy:
// its format must be the one of req.Platform (play-integrity and
// android-key for android). Errors wrap ErrFormat, or an androidkey,
// appleattest or playintegrity sentinel; Reason names them.
func Verify(req Request, ev Evidence, p Policy, t Trust, now time.Time) (Findings, error) {
	switch {
	case ev.Format == FormatAndroidKey && req.Platform == PlatformAndroid:
		return verifyAndroid(req, ev, p, t, now)
	case ev.Format == FormatAppleAppAttest && req.Platform == PlatformIOS:
		return verifyApple(req, ev, p, t, now)
	case ev.Format == FormatPlayIntegrity && req.Platform == PlatformAndroid:
		return verifyPlay(req, ev, p, t, now)
	}
	return Findings{}, fmt.Errorf("%w: %q evidence for a %q app", ErrFormat, ev.Format, req.Platform)
}

func verifyAndroid(req Request, ev Evidence, p Policy, t Trust, now time.Time) (Findings, error) {
	level, err := androidkey.ParseSecurityLevel(p.AndroidMinSecurity)
	if err != nil {
		return Findings{}, err
	}
	res, err := androidkey.Verify(androidkey.Input{
		Chain:     ev.Chain,
		DeviceKey: req.Device.ECDSA(),
		Nonce:     req.Nonce,
		AppID:     req.AppID,
		Signer:    req.Signer,
	}, p.Android(level), t.AndroidRoots, t.AndroidStatus, now)
	if err != nil {
		return Findings{}, err
	}
	return Findings{
		Format:             res.Format,
		SecurityLevel:      res.SecurityLevel.String(),
		BootState:          res.BootState.String(),
		DeviceLocked:       res.DeviceLocked,
		AttestationVersion: res.AttestationVersion,
		Attested:           res.Attested,
		Serials:            res.Serials,
	}, nil
}

func verifyApple(req Request, ev Evidence, p Policy, t Trust, now time.Time) (Findings, error) {
	res, err := appleattest.Verify(appleattest.Input{
		KeyID:          ev.KeyID,
		Attestation:    ev.Attestation,
		ClientDataHash: ClientDataHash(req.Nonce, req.Device),
		TeamID:         req.TeamID,
		AppID:          req.AppID,
	}, appleattest.Policy{AllowDevelopment: p.AllowAppAttestDevelopment}, t.AppleRoots, now)
	if err != nil {
		return Findings{}, err
	}
	return Findings{Format: res.Format, Environment: res.Environment}, nil
}

// verifyPlay checks a Play Integrity token (§10) with the app's keys: the
// nonce Play was asked for is bound to the request's nonce and the device
// key as SPKI DER, whichever encoding of device.key was sent.
func verifyPlay(req Request, ev Evidence, p Policy, t Trust, now time.Time) (Findings, error) {
	if t.NonceTTL <= 0 {
		t.NonceTTL = DefaultNonceTTL
	}
	v, err := playintegrity.Verify(playintegrity.Input{
		Token:      ev.Token,
		Nonce:      req.Nonce,
		DeviceSPKI: req.Device.SPKI(),
		AppID:      req.AppID,
		Signer:     req.Signer,
	}, req.PlayKeys, playintegrity.Policy{
		MinDevice:          p.PlayMinDevice,
		RequireLicensed:    p.PlayRequireLicensed,
		AllowUnrecognized:  p.PlayAllowUnrecognized,
		RequirePlayProtect: p.PlayRequirePlayProtect,
	}, t.NonceTTL, now)
	if err != nil {
		return Findings{}, err
	}
	return Findings{Format: FormatPlayIntegrity, Play: v}, nil
}
