package attest

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/attestd/attestd/crypto/nonce"
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
	// ReasonDebugTokenInvalid (§11): the request's debug_token is unknown,
	// revoked, expired, or a token of another app.
	ReasonDebugTokenInvalid = "debug_token_invalid"
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

// appendAttest is the attest path: the protocol checks (admit), the
// per-device rate limit, a claim on the nonce (so that requests racing it
// do not all decide), the verdict (decide, no side effects), the nonce's
// single use under the class of the answer (use), then the answer
// (appendAnswer).
func (e *Edge) appendAttest(ctx context.Context, dst []byte, in Input) ([]byte, error) {
	if !IsJSON(in.ContentType) {
		return dst, apierr.ErrMediaType
	}
	if in.TooLarge || len(in.Body) > MaxBodyBytes {
		return dst, apierr.ErrBodyTooLarge
	}
	w := e.reqs.Get().(*work)
	defer e.reqs.Put(w)
	now := e.cfg.Now()
	n, key, err := e.admit(w, in, now)
	if err != nil {
		return dst, err
	}
	// §2 (1.1): a limit per device key counts only requests whose
	// signature verified, so that knowing a device's public key does not
	// spend its allowance; a 429 uses up no nonce.
	if e.cfg.Limits != nil {
		pt := key.Point()
		if err := e.cfg.Limits.AllowAttest(pt[:], now); err != nil {
			return dst, err
		}
	}
	if !e.cfg.Replay.Claim(n.ID, n.ExpiresAt) {
		return dst, apierr.ErrNonceReplayed
	}
	defer e.cfg.Replay.Release(n.ID)
	if err := e.newIDs(w, key); err != nil {
		return dst, err
	}
	d, err := e.decide(ctx, &w.req, key, w.did(), now, w.reasons[:0])
	if err != nil {
		return dst, err
	}
	w.reasons = d.Reasons
	if err := e.use(n, now, d.ReplayClass()); err != nil {
		return dst, err
	}
	e.observeVerdict(ctx, w, &d)
	return e.appendAnswer(dst, w, &d, key, now.Unix())
}

// admit runs the protocol checks of §2 up to the verdict, in order: JSON,
// fields and encodings, device key (400), nonce (nonce_invalid,
// nonce_expired, nonce_replayed as far as the replay set has seen it),
// signature (signature_invalid). It records nothing.
func (e *Edge) admit(w *work, in Input, now time.Time) (nonce.Parsed, devicekey.Key, error) {
	r := &w.req
	if err := ParseRequest(in.Body, r); err != nil {
		return nonce.Parsed{}, devicekey.Key{}, err
	}
	key, err := devicekey.ParseBuf(r.DeviceKey, &w.key)
	if err != nil {
		return nonce.Parsed{}, key, errClass(apierr.ErrBadRequest.WithMessage("device.key: not a P-256 public key"), err)
	}
	keys, err := e.cfg.Registry.Nonces()
	if err != nil {
		return nonce.Parsed{}, key, fmt.Errorf("attest: %w", err)
	}
	n, err := keys.Check(r.Nonce, now)
	if err != nil {
		return n, key, classifyNonce(err)
	}
	if e.cfg.Replay.Seen(n.ID, n.ExpiresAt) {
		return n, key, apierr.ErrNonceReplayed
	}
	if in.Signature == nil {
		return n, key, apierr.ErrSignatureInvalid
	}
	if err := devicekey.VerifySignatureBuf(key, in.Body, in.Signature, &w.sig); err != nil {
		return n, key, errClass(apierr.ErrSignatureInvalid, err)
	}
	return n, key, nil
}

// use spends the nonce under class c: nonce_replayed when it already was
// (by a request racing this one, say), overloaded when c's budget of the
// replay set is full.
func (e *Edge) use(n nonce.Parsed, now time.Time, c replay.Class) error {
	fresh, err := e.cfg.Replay.Use(n.ID, n.ExpiresAt, now, c)
	if err != nil {
		return classifyReplay(err)
	}
	if !fresh {
		return apierr.ErrNonceReplayed
	}
	return nil
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
func (e *Edge) observeVerdict(ctx context.Context, w *work, d *Decision) {
	o := Outcome{Passed: d.Passed(), Reasons: d.Reasons, Monitor: d.Monitor, Device: w.did(),
		Debug: d.Debug.Outcome, DebugName: d.Debug.Name}
	if d.App != nil {
		o.App = d.App.ID
	}
	if e.byRequest != nil {
		e.byRequest.AttestVerdict(ctx, o)
		return
	}
	e.cfg.Observer.Verdict(o)
}

func classifyNonce(err error) error {
	if errors.Is(err, nonce.ErrExpired) {
		return errClass(apierr.ErrNonceExpired, err)
	}
	return errClass(apierr.ErrNonceInvalid, err)
}

// classifyReplay maps a replay set refusal: a full budget of the answer's
// class is overload (fail closed for that class only), an expiry the set
// cannot vouch for is nonce_expired, an expiry further ahead than this
// node's window is nonce_invalid; a class the set does not know is the
// core's own fault.
func classifyReplay(err error) error {
	switch {
	case errors.Is(err, replay.ErrConfig):
		return fmt.Errorf("attest: replay: %w", err)
	case errors.Is(err, replay.ErrFull):
		return errClass(apierr.ErrOverloaded, err)
	case errors.Is(err, replay.ErrExpired):
		return errClass(apierr.ErrNonceExpired, err)
	}
	return errClass(apierr.ErrNonceInvalid, err)
}
