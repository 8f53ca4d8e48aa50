package backend

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sync/singleflight"

	"github.com/attestd/attestd/crypto/token"
)

// Verifier verifies attestd tokens for one account. Build it with New. It is
// safe for concurrent use.
type Verifier struct {
	cfg    Config
	static []token.VerifyKey

	state       atomic.Pointer[keyState]
	lastAttempt atomic.Int64 // cfg.Now of the last JWKS fetch, in Unix ns; math.MinInt64 for never
	fetching    atomic.Bool  // a JWKS fetch is in flight
	flight      singleflight.Group
	verified    sync.Pool // of *token.Verified
}

// keyState is the key set in use, replaced whole by each fetch.
type keyState struct {
	set       *token.KeySet
	refreshAt time.Time // when the JWKS is fetched again; zero: at the first use
	err       error     // why the last fetch failed; nil after a success
}

// New returns a Verifier for cfg. It does no I/O: with a JWKSURL, the JWKS
// is fetched at the first verification, or by Refresh.
func New(cfg Config) (*Verifier, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	set, err := token.NewKeySet(cfg.Keys...)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	v := &Verifier{cfg: cfg, static: set.Keys()}
	v.cfg.Keys = nil
	v.state.Store(&keyState{set: set})
	v.lastAttempt.Store(math.MinInt64)
	v.verified.New = func() any { return new(token.Verified) }
	return v, nil
}

// Verify checks tok, and its binding to bindingValue (nil when the request
// has no value to bind; see the package doc), and returns its claims. ctx
// bounds only the wait for a JWKS fetch, which itself is bounded by
// Config.JWKSTimeout.
func (v *Verifier) Verify(ctx context.Context, tok string, bindingValue []byte) (token.Claims, error) {
	out := v.verified.Get().(*token.Verified)
	defer v.verified.Put(out)
	// Verification only reads tok: token.KeySet.Verify neither modifies
	// nor retains it, so a read-only view of the string's bytes is sound.
	if err := v.VerifyInto(ctx, unsafe.Slice(unsafe.StringData(tok), len(tok)), bindingValue, out); err != nil {
		return token.Claims{}, err
	}
	return out.Claims(), nil
}

// VerifyInto is Verify without allocation (for HS256 keys, once out's buffer
// has grown): the claims are left in out, valid as token.Verified documents.
// tok is neither modified nor retained.
func (v *Verifier) VerifyInto(ctx context.Context, tok, bindingValue []byte, out *token.Verified) error {
	now := v.cfg.Now()
	st := v.keys(ctx, now)
	o := token.Options{Now: now, Leeway: v.cfg.Leeway, Audience: v.cfg.Audience, Issuer: v.cfg.Issuer}
	err := st.set.Verify(tok, o, out)
	if errors.Is(err, token.ErrUnknownKey) && v.cfg.JWKSURL != "" {
		// A kid we do not know may be a key added since the last fetch.
		rerr := v.refresh(ctx, false)
		st2 := v.state.Load()
		if st2 != st {
			err = st2.set.Verify(tok, o, out)
		}
		if errors.Is(err, token.ErrUnknownKey) {
			if rerr == nil {
				rerr = st2.err
			}
			if rerr != nil {
				err = fmt.Errorf("%w (and the JWKS: %w)", err, rerr)
			}
		}
	}
	if err != nil {
		return err
	}
	if len(out.Payload) > 0 {
		if err := out.CheckBinding(bindingValue); err != nil {
			return err
		}
	} else if v.cfg.RequireBinding {
		out.Reset()
		return fmt.Errorf("%w: the token is not bound and binding is required", token.ErrBinding)
	}
	if v.cfg.RefuseMonitorFailures && out.Monitor && (!out.HasAnnotation || len(out.Annotation) > 0) {
		out.Reset()
		return ErrMonitorFailure
	}
	return nil
}

// MonitorFailure reports whether c stands for a failed verdict of an app in
// monitor mode (docs/protocol.md §9): mon is true and arc names reasons (or, a
// token attestd never mints, is absent). Its reasons are then
// strings.Split(*c.Annotation, ",").
func MonitorFailure(c token.Claims) bool {
	return c.Monitor && (c.Annotation == nil || *c.Annotation != "")
}

// keys returns the key set to verify with at now, refreshing the JWKS first
// when it is due. A failed refresh keeps the previous keys.
func (v *Verifier) keys(ctx context.Context, now time.Time) *keyState {
	st := v.state.Load()
	if v.cfg.JWKSURL == "" || now.Before(st.refreshAt) {
		return st
	}
	_ = v.refresh(ctx, false)
	return v.state.Load()
}
