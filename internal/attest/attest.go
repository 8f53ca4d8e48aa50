package attest

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"strconv"

	"github.com/attestd/attestd/crypto/nonce"
	"github.com/attestd/attestd/crypto/seal"
	"github.com/attestd/attestd/crypto/token"
	"github.com/attestd/attestd/internal/apierr"
	"github.com/attestd/attestd/internal/replay"
	"github.com/attestd/attestd/verify/devicekey"
)

// Verdict reason names of PROTOCOL.md §2, in the order they are checked.
const (
	ReasonAppUnknown          = "app_unknown"
	ReasonPlatformMismatch    = "platform_mismatch"
	ReasonSignerMismatch      = "signer_mismatch"
	ReasonVersionUnknown      = "version_unknown"
	ReasonMeasurementMismatch = "measurement_mismatch"
	ReasonRooted              = "rooted"
	ReasonDebugger            = "debugger"
	ReasonHooked              = "hooked"
	ReasonEmulator            = "emulator"
	ReasonPAMissing           = "platform_attestation_missing"
	ReasonPAInvalid           = "platform_attestation_invalid"
	ReasonPAExpired           = "platform_attestation_expired"
	ReasonDeviceBanned        = "device_banned"
)

// Input is one attest request as a transport received it. Body and the
// other slices are only read during the call.
type Input struct {
	ContentType []byte
	Body        []byte
	// Signature is the Attest-Signature header value, nil when absent.
	Signature []byte
	// TooLarge is set by adapters that stopped reading past MaxBodyBytes.
	TooLarge bool
}

// work is the per-request scratch space, pooled.
type work struct {
	req     Request
	reasons []string
	// ids holds the strings of the request's token in one, one allocation
	// for all: did, then jti, then pay (the binding as sent, when given).
	ids    string
	arc    string
	key    devicekey.KeyBuf
	sig    devicekey.SigBuf
	rawJTI [16]byte
}

// Sizes of the strings in work.ids: a jti is b64u of 16 bytes, a binding
// b64u of 32 (ParseRequest checks it).
const (
	jtiSize     = 22
	bindingSize = 43
	jtiEnd      = devicekey.DIDSize + jtiSize
)

func (w *work) did() string { return w.ids[:devicekey.DIDSize] }
func (w *work) jti() string { return w.ids[devicekey.DIDSize:jtiEnd] }
func (w *work) pay() string { return w.ids[jtiEnd:] }

// AppendAttest runs the checks of PROTOCOL.md §2 in order and appends the
// verdict answer to dst. Protocol errors are returned (classified for
// apierr.From); every attestation verdict, passed or failed, is an answer.
// A RequestObserver learns both with ctx.
func (e *Edge) AppendAttest(ctx context.Context, dst []byte, in Input) ([]byte, error) {
	dst, err := e.appendAttest(ctx, dst, in)
	if err != nil && e.byRequest != nil {
		e.byRequest.AttestRefused(ctx, err)
	}
	return dst, err
}

func (e *Edge) appendAttest(ctx context.Context, dst []byte, in Input) ([]byte, error) {
	if !IsJSON(in.ContentType) {
		return dst, apierr.ErrMediaType
	}
	if in.TooLarge || len(in.Body) > MaxBodyBytes {
		return dst, apierr.ErrBodyTooLarge
	}
	w := e.reqs.Get().(*work)
	defer e.reqs.Put(w)
	r := &w.req
	if err := ParseRequest(in.Body, r); err != nil {
		return dst, err
	}
	key, err := devicekey.ParseBuf(r.DeviceKey, &w.key)
	if err != nil {
		return dst, errClass(apierr.ErrBadRequest.WithMessage("device.key: not a P-256 public key"), err)
	}
	now := e.cfg.Now()
	if e.cfg.Limits != nil {
		pt := key.Point()
		if err := e.cfg.Limits.AllowAttest(pt[:], now); err != nil {
			return dst, err
		}
	}
	keys, err := e.cfg.Registry.Nonces()
	if err != nil {
		return dst, fmt.Errorf("attest: %w", err)
	}
	n, err := keys.Check(r.Nonce, now)
	if err != nil {
		return dst, classifyNonce(err)
	}
	if e.cfg.Replay.Seen(n.ID, n.ExpiresAt) {
		return dst, apierr.ErrNonceReplayed
	}
	if in.Signature == nil {
		return dst, apierr.ErrSignatureInvalid
	}
	if err := devicekey.VerifySignatureBuf(key, in.Body, in.Signature, &w.sig); err != nil {
		return dst, errClass(apierr.ErrSignatureInvalid, err)
	}
	fresh, err := e.cfg.Replay.Use(n.ID, n.ExpiresAt, now)
	if err != nil {
		return dst, classifyReplay(err)
	}
	if !fresh {
		return dst, apierr.ErrNonceReplayed
	}
	if err := e.newIDs(w, key); err != nil {
		return dst, err
	}
	return e.verdict(ctx, dst, w, key, now.Unix())
}

// newIDs makes w.ids: the device's did, a new jti (b64u of 16 random
// bytes) and the binding.
func (e *Edge) newIDs(w *work, key devicekey.Key) error {
	if len(w.req.Binding) > bindingSize {
		return errors.New("attest: binding longer than ParseRequest allows")
	}
	if _, err := io.ReadFull(e.cfg.Rand, w.rawJTI[:]); err != nil {
		return fmt.Errorf("attest: jti: %w", err)
	}
	var b [jtiEnd + bindingSize]byte
	key.AppendDID(b[:0])
	base64.RawURLEncoding.Encode(b[devicekey.DIDSize:jtiEnd], w.rawJTI[:])
	n := jtiEnd + copy(b[jtiEnd:], w.req.Binding)
	w.ids = string(b[:n])
	return nil
}

// observeVerdict tells the observer, with ctx when it wants it.
func (e *Edge) observeVerdict(ctx context.Context, passed bool, reasons []string) {
	if e.byRequest != nil {
		e.byRequest.AttestVerdict(ctx, passed, reasons)
		return
	}
	e.cfg.Observer.Verdict(passed, reasons)
}

func classifyNonce(err error) error {
	if errors.Is(err, nonce.ErrExpired) {
		return errClass(apierr.ErrNonceExpired, err)
	}
	return errClass(apierr.ErrNonceInvalid, err)
}

// classifyReplay maps a replay set refusal: a full set is overload (fail
// closed), an expiry the set cannot vouch for is nonce_expired, an expiry
// further ahead than this node's window is nonce_invalid.
func classifyReplay(err error) error {
	switch {
	case errors.Is(err, replay.ErrFull):
		return errClass(apierr.ErrOverloaded, err)
	case errors.Is(err, replay.ErrExpired):
		return errClass(apierr.ErrNonceExpired, err)
	}
	return errClass(apierr.ErrNonceInvalid, err)
}

// verdict decides and answers; the request's signature and nonce are good.
func (e *Edge) verdict(ctx context.Context, dst []byte, w *work, key devicekey.Key, now int64) ([]byte, error) {
	r := &w.req
	app, ok, err := e.cfg.Registry.App(r.AppID)
	if err != nil {
		return dst, fmt.Errorf("attest: app: %w", err)
	}
	if !ok {
		return e.unknownApp(ctx, dst, w, now)
	}
	acct, ok, err := e.cfg.Registry.Account(app.Account)
	if err != nil || !ok {
		return dst, fmt.Errorf("attest: account %q of app %q: %w", app.Account, app.ID, errMissing(err))
	}
	reasons := w.reasons[:0]
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
	p := app.Policy
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
	var pa PlatformResult
	if r.PlatformAttestation != nil {
		pa = e.cfg.Platform.Check(ctx, PlatformInput{
			Raw: r.PlatformAttestation, App: app, Nonce: r.Nonce,
			DeviceKey: r.DeviceKey, Device: key, Signer: r.Signer, Now: e.cfg.Now(),
		})
		if !pa.Verified {
			reasons = append(reasons, pa.Reasons...)
		}
	}
	required := p.RequirePlatformAttestation && !pa.Verified
	if required && r.PlatformAttestation == nil {
		reasons = append(reasons, ReasonPAMissing)
	}
	if e.cfg.Registry.Banned(w.did()) {
		reasons = append(reasons, ReasonDeviceBanned)
	}
	w.reasons = reasons
	passed := len(reasons) == 0
	e.observeVerdict(ctx, passed, reasons)

	signer := acct.Decoy
	if passed {
		signer = acct.Signer
	}
	c := e.claims(w, app.ID, acct.ID, now, acct.TTL)
	if acct.Annotate {
		w.arc = joinReasons(reasons)
		c.Annotation = &w.arc
	}
	dst = append(dst, `{"token":"`...)
	dst, err = signer.AppendMint(dst, &c)
	if err != nil {
		return dst, fmt.Errorf("attest: mint: %w", err)
	}
	dst = append(dst, `","expires_at":`...)
	dst = appendInt(dst, c.ExpiresAt)
	if passed && r.WantSecrets {
		dst = append(dst, `,"secrets":"`...)
		dst, err = seal.Seal(dst, key.ECDH(), w.did(), acct.SecretsFor(app.ID).Reveal(), e.cfg.Rand)
		if err != nil {
			return dst, fmt.Errorf("attest: seal: %w", err)
		}
		dst = append(dst, '"')
	}
	dst = append(dst, `,"pins":`...)
	dst = append(dst, acct.PinsJSON...)
	if passed && pa.Receipt != "" {
		dst = append(dst, `,"receipt":`...)
		dst = strconv.AppendQuote(dst, pa.Receipt)
	}
	if required {
		dst = append(dst, `,"platform_attestation":"required"`...)
	}
	return append(dst, '}'), nil
}

// unknownApp answers app_unknown: an HS256 decoy, aud "unknown", 300 s, no
// arc and no pins (§3).
func (e *Edge) unknownApp(ctx context.Context, dst []byte, w *work, now int64) ([]byte, error) {
	w.reasons = append(w.reasons[:0], ReasonAppUnknown)
	e.observeVerdict(ctx, false, w.reasons)
	signer, err := e.cfg.Registry.UnknownDecoy()
	if err != nil {
		return dst, fmt.Errorf("attest: decoy: %w", err)
	}
	c := e.claims(w, string(w.req.AppID), UnknownAudience, now, UnknownTTL)
	dst = append(dst, `{"token":"`...)
	if dst, err = signer.AppendMint(dst, &c); err != nil {
		return dst, fmt.Errorf("attest: mint decoy: %w", err)
	}
	dst = append(dst, `","expires_at":`...)
	dst = appendInt(dst, c.ExpiresAt)
	return append(dst, '}'), nil
}

func (e *Edge) claims(w *work, sub, aud string, now, ttl int64) token.Claims {
	return token.Claims{
		Issuer:    e.cfg.Issuer,
		Subject:   sub,
		Audience:  aud,
		IssuedAt:  now,
		ExpiresAt: now + ttl,
		ID:        w.jti(),
		Device:    w.did(),
		Payload:   w.pay(),
	}
}

func joinReasons(rs []string) string {
	switch len(rs) {
	case 0:
		return ""
	case 1:
		return rs[0]
	}
	n := len(rs) - 1
	for _, r := range rs {
		n += len(r)
	}
	b := make([]byte, 0, n)
	for i, r := range rs {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, r...)
	}
	return string(b)
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
