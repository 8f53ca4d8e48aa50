package backend

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/attestd/attestd/crypto/httpsig"
	"github.com/attestd/attestd/crypto/token"
)

// Request signatures (docs/protocol.md §10): a token with cnf is bound to the
// device key, and each request carrying it is signed with that key (RFC
// 9421, label att). A verifier that requires them refuses a token without
// cnf, a request whose signature is missing, malformed, stale, replayed,
// over other components, or not by the cnf key, and a body that does not
// match its Content-Digest.

// Errors of request signatures, besides crypto/httpsig's (ErrMissing,
// ErrMalformed, ErrComponents, ErrKeyID, ErrAlgorithm, ErrTime, ErrDigest,
// ErrSignature, ErrKey), which the middleware answers 401
// request_signature_invalid as well.
var (
	// ErrNotBound: the token has no cnf, so nothing can check who sends it.
	ErrNotBound = errors.New("backend: the token is not bound to a device key")
	// ErrReplayed: the signature was accepted before, within its window.
	ErrReplayed = errors.New("backend: request signature replayed")
	// ErrBodyTooLarge: the body is over SignatureConfig.MaxBodyBytes
	// (413 body_too_large).
	ErrBodyTooLarge = errors.New("backend: request body over the limit")
)

// Defaults of SignatureConfig.
const (
	DefaultSignatureWindow = httpsig.DefaultWindow
	DefaultMaxBodyBytes    = 1 << 20
)

// SignatureConfig configures the request signatures a middleware requires.
// The zero value of every field selects its default.
type SignatureConfig struct {
	// Window is how far a signature's created may be from now, either way
	// (default 60 s). Clocks are the Verifier's (Config.Now).
	Window time.Duration
	// Replay remembers accepted signatures until they leave the window
	// (default: a MemoryReplayCache of DefaultReplayCapacity, this
	// process's own). Give several processes one shared store to refuse a
	// replay across them.
	Replay ReplayCache
	// Authority is the @authority apps sign: this API's host, and its port
	// when the app's URL has one other than its scheme's default, as the
	// app addresses it ("api.example.com", "api.example.com:8443"). Set
	// it when a TLS terminator, load balancer or proxy in front of this
	// server changes Host or the scheme. Empty: each request's Host,
	// without the default port of the scheme this server sees (https when
	// it terminates TLS itself).
	Authority string
	// MaxBodyBytes bounds the body read to check its Content-Digest
	// (default 1 MiB); a longer one is answered 413 body_too_large. The
	// body is read whole before next runs, which reads it from memory.
	MaxBodyBytes int64
}

// Signatures checks request signatures for a middleware (see
// WithRequestSignatures). It is safe for concurrent use.
type Signatures struct {
	cfg     SignatureConfig
	scratch sync.Pool // of *httpsig.Scratch
}

// NewSignatures returns the checks cfg asks for, its defaults filled in.
// Give the same *Signatures to the net/http and fasthttp middleware of one
// API so that they share the replay cache.
func NewSignatures(cfg SignatureConfig) *Signatures {
	if cfg.Window <= 0 {
		cfg.Window = DefaultSignatureWindow
	}
	if cfg.Replay == nil {
		cfg.Replay = NewMemoryReplayCache(0)
	}
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = DefaultMaxBodyBytes
	}
	cfg.Authority = httpsig.Authority(cfg.Authority, "")
	s := &Signatures{cfg: cfg}
	s.scratch.New = func() any { return new(httpsig.Scratch) }
	return s
}

// VerifySignedInto is VerifyInto for a request that must be signed: it
// verifies tok (and its binding) as VerifyInto does, then the request
// signature of msg, whose whole body is body, with the token's cnf key,
// then records the signature in s's replay cache. The claims are left in
// out. It is what the middleware runs; call it from a framework of your own
// with msg built by httpsig.ServerRequest (net/http) or your own
// httpsig.RequestMessage.
func (v *Verifier) VerifySignedInto(ctx context.Context, s *Signatures, tok, bindingValue []byte, msg httpsig.RequestMessage, body []byte, out *token.Verified) error {
	if err := v.VerifyInto(ctx, tok, bindingValue, out); err != nil {
		return err
	}
	return v.checkSignature(ctx, s, msg, body, out)
}

// checkSignature is VerifySignedInto after the token verified into out.
func (v *Verifier) checkSignature(ctx context.Context, s *Signatures, msg httpsig.RequestMessage, body []byte, out *token.Verified) error {
	if !out.HasConfirmation {
		out.Reset()
		return ErrNotBound
	}
	now := v.cfg.Now()
	sc := s.scratch.Get().(*httpsig.Scratch)
	checked, err := sc.VerifyRequest(msg, out.Confirmation[:], body, now, s.cfg.Window)
	s.scratch.Put(sc)
	if err == nil {
		err = s.remember(ctx, checked, now)
	}
	if err != nil {
		out.Reset()
	}
	return err
}

// remember adds a verified signature to the replay cache.
func (s *Signatures) remember(ctx context.Context, c httpsig.Checked, now time.Time) error {
	fresh, err := s.cfg.Replay.Add(ctx, c.ID, now, c.Until)
	switch {
	case err != nil && !errors.Is(err, ErrReplayFull):
		return fmt.Errorf("%w: %w", ErrReplayFull, err)
	case err != nil:
		return err
	case !fresh:
		return ErrReplayed
	}
	return nil
}

// isSignatureError reports whether err is a refused request signature
// (401 request_signature_invalid).
func isSignatureError(err error) bool {
	for _, e := range [...]error{ErrNotBound, ErrReplayed, httpsig.ErrMissing, httpsig.ErrMalformed, httpsig.ErrComponents,
		httpsig.ErrKeyID, httpsig.ErrAlgorithm, httpsig.ErrTime, httpsig.ErrDigest, httpsig.ErrSignature, httpsig.ErrKey} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}
