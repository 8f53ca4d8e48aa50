// Package backend is what an API owner imports to accept attestd tokens
// (docs/protocol.md §3): a Verifier that checks a token's signature with the
// account's keys (given, or fetched from the edge's JWKS and cached), its
// times, audience, issuer and binding; and net/http and fasthttp middleware
// built on it.
//
// Who may import: any backend, and attestd's own examples and tests. It
// imports crypto/token, crypto/httpsig and crypto/secret from this module, fasthttp and
// golang.org/x/sync; nothing of the edge.
//
// Monitor mode (docs/protocol.md §9): an app in monitor mode gets tokens signed
// with the account's key for failed verdicts too, so that its backends
// keep working while its owner watches what enforcement would refuse.
// Such a token carries mon (token.Claims.Monitor) and its reasons in arc
// (Claims.Annotation, "" on a pass); MonitorFailure tells the two apart.
// A Verifier accepts monitor-mode failures unless
// Config.RefuseMonitorFailures is set, which refuses them
// (ErrMonitorFailure) while still accepting monitor-mode passes. A token
// made with a debug token names it in dbg (Claims.Debug).
// Request signatures (docs/protocol.md §10), with WithRequestSignatures: a
// token bound to the device key (cnf) and, on each request, an RFC 9421
// signature by that key over the method, authority, path, query, token and
// Content-Digest, fresh (SignatureConfig.Window) and never seen before
// (SignatureConfig.Replay), refused 401 request_signature_invalid.
//
// Binding rule (the pay claim): a token that carries pay is accepted only
// when the caller supplies the bound value and pay equals
// b64u(SHA-256(value)); a nil value never matches. A token without pay is
// accepted whatever value is supplied, unless Config.RequireBinding is set.
//
// A Verifier is safe for concurrent use.
package backend

import "errors"

// The errors of this package. Verification errors wrap one of these or one
// of crypto/token's (token.ErrMalformed, ErrUnknownKey, ErrAlgorithm,
// ErrSignature, ErrExpired, ErrNotYetValid, ErrAudience, ErrIssuer,
// ErrBinding); test with errors.Is.
var (
	// ErrConfig: New was given an unusable Config.
	ErrConfig = errors.New("backend: invalid config")
	// ErrNoToken: the request has no token header, or more than one.
	ErrNoToken = errors.New("backend: missing token")
	// ErrMonitorFailure: the token is valid but stands for a failed
	// verdict of an app in monitor mode, and Config.RefuseMonitorFailures
	// is set.
	ErrMonitorFailure = errors.New("backend: failed verdict (monitor mode)")
	// ErrJWKS: the JWKS could not be fetched or read. Verification keeps
	// using the keys it had; this error is returned by Refresh, and joined
	// to ErrUnknownKey when a kid is unknown and the refresh failed.
	ErrJWKS = errors.New("backend: JWKS unavailable")
)
