package backend

import (
	"errors"
	"net/textproto"

	"github.com/attestd/attestd/crypto/httpsig"
	"github.com/attestd/attestd/crypto/token"
)

// DefaultTokenHeader is the header the middleware reads the token from.
const DefaultTokenHeader = "Attest-Token"

// MiddlewareOption configures HTTP and Fasthttp.
type MiddlewareOption func(*middleware)

// WithTokenHeader reads the token from the named header instead of
// Attest-Token. The token is never read from Authorization as a bearer
// token: Authorization is what tokens are bound to (docs/protocol.md §6), and
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

// WithRequestSignatures requires, beside the token, a request signature by
// the token's device key (docs/protocol.md §10): a token without cnf, and a
// request whose signature does not check out, are answered 401
// {"error":"request_signature_invalid",…}; a body over s's MaxBodyBytes
// 413 body_too_large; a full replay cache 503 overloaded. The body is read
// (up to that bound) before next runs, and next reads it from memory.
func WithRequestSignatures(s *Signatures) MiddlewareOption {
	return func(m *middleware) { m.sigs = s }
}

type middleware struct {
	tokenHeader   string
	bindingHeader string
	onReject      func(error)
	sigs          *Signatures
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

// rejection is the answer to err: 401 {"error":"request_signature_invalid"}
// for a refused request signature, 413 for a body over the limit, 503
// (retry after a second) for a replay cache that cannot record, else 401
// {"error":"token_invalid","message":…}. The messages are fixed strings:
// nothing of the request is echoed.
func rejection(err error) (status int, body string) {
	switch {
	case errors.Is(err, ErrBodyTooLarge):
		return 413, `{"error":"body_too_large","message":"the request body is over the limit"}`
	case errors.Is(err, errUnreadableBody):
		return 400, `{"error":"bad_request","message":"the request body could not be read"}`
	case errors.Is(err, ErrReplayFull):
		return 503, `{"error":"overloaded","message":"try again shortly"}`
	case isSignatureError(err):
		return 401, `{"error":"request_signature_invalid","message":"` + signatureMessage(err) + `"}`
	}
	return 401, tokenRejection(err)
}

// signatureMessage is the fixed text for a refused request signature.
func signatureMessage(err error) string {
	switch {
	case errors.Is(err, ErrNotBound):
		return "the token is not bound to a device key"
	case errors.Is(err, ErrReplayed):
		return "request signature replayed"
	case errors.Is(err, httpsig.ErrTime):
		return "request signature too old, too new or expired"
	case errors.Is(err, httpsig.ErrDigest):
		return "content digest missing or not matching the body"
	}
	return "request signature missing or invalid"
}

// tokenRejection is the 401 body for a refused token.
func tokenRejection(err error) string {
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

func (m *middleware) rejected(err error) (int, string) {
	if m.onReject != nil {
		m.onReject(err)
	}
	return rejection(err)
}
