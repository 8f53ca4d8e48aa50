package backend

import (
	"errors"
	"net/textproto"

	"github.com/attestd/attestd/crypto/token"
)

// DefaultTokenHeader is the header the middleware reads the token from.
const DefaultTokenHeader = "Attest-Token"

// MiddlewareOption configures HTTP and Fasthttp.
type MiddlewareOption func(*middleware)

// WithTokenHeader reads the token from the named header instead of
// Attest-Token. The token is never read from Authorization as a bearer
// token: Authorization is what tokens are bound to (PROTOCOL.md §6), and
// one header cannot be both.
func WithTokenHeader(name string) MiddlewareOption {
	return func(m *middleware) { m.tokenHeader = textproto.CanonicalMIMEHeaderKey(name) }
}

// WithBindingHeader names the header whose value tokens are bound to,
// usually "Authorization". A request without it, or with it more than once,
// binds nothing (bound tokens then fail). Without this option no value is
// bound, so tokens carrying pay are refused.
func WithBindingHeader(name string) MiddlewareOption {
	return func(m *middleware) { m.bindingHeader = textproto.CanonicalMIMEHeaderKey(name) }
}

// WithRejectHook calls f with the reason of each refused request, for logs
// and metrics. The error never reaches the client; it holds no token
// contents beyond times and a known kid.
func WithRejectHook(f func(error)) MiddlewareOption {
	return func(m *middleware) { m.onReject = f }
}

type middleware struct {
	tokenHeader   string
	bindingHeader string
	onReject      func(error)
}

func newMiddleware(opts []MiddlewareOption) *middleware {
	m := &middleware{tokenHeader: DefaultTokenHeader}
	for _, o := range opts {
		o(m)
	}
	return m
}

// claimsKey keys the claims in a context and in fasthttp's user values.
type claimsKey struct{}

// rejection is the 401 body for err: {"error":"token_invalid","message":…}.
// The messages are fixed strings: nothing of the token is echoed.
func rejection(err error) string {
	msg := "token could not be verified"
	for _, c := range []struct {
		err error
		msg string
	}{
		{ErrNoToken, "exactly one token header is required"},
		{token.ErrMalformed, "malformed token"},
		{token.ErrUnknownKey, "token signed with an unknown key"},
		{token.ErrAlgorithm, "token algorithm not allowed for its key"},
		{token.ErrSignature, "bad token signature"},
		{token.ErrExpired, "token expired"},
		{token.ErrNotYetValid, "token not yet valid"},
		{token.ErrAudience, "token issued for another account"},
		{token.ErrIssuer, "token from another issuer"},
		{token.ErrBinding, "token binding does not match the request"},
		{ErrMonitorFailure, "token stands for a failed attestation (monitor mode)"},
	} {
		if errors.Is(err, c.err) {
			msg = c.msg
			break
		}
	}
	return `{"error":"token_invalid","message":"` + msg + `"}`
}

func (m *middleware) rejected(err error) string {
	if m.onReject != nil {
		m.onReject(err)
	}
	return rejection(err)
}
