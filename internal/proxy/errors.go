package proxy

import "errors"

// The causes the proxy wraps (never answered as they are: apierr maps
// them to the public codes of PROTOCOL.md).
var (
	// errNoToken: the request has no Attest-Token header, or more than one.
	errNoToken = errors.New("proxy: exactly one Attest-Token header is required")
	// errBodyTooLarge: the request body went over Config.MaxBodyBytes (413).
	errBodyTooLarge = errors.New("proxy: request body over the limit")
	// errDetached: what a detached request body reads once its adapter
	// has returned.
	errDetached = errors.New("proxy: request ended")
	// errUpstreamIdle: the upstream sent nothing for Config.BodyIdleTimeout
	// in the middle of an answer, which is then cut off.
	errUpstreamIdle = errors.New("proxy: the upstream stopped sending")
	// errMonitorFailure: the token is a monitor-mode failure (mon with a
	// non-empty arc, PROTOCOL.md §11): signed with the account's key so
	// that backends may watch it, but a failed verdict releases no secret,
	// in any mode, and the proxy injects one.
	errMonitorFailure = errors.New("proxy: a monitor-mode failure may not use a secret")
	// errDebugNoSecrets: the token was made with a debug token that is no
	// longer live, or was made without --secrets.
	errDebugNoSecrets = errors.New("proxy: the token's debug token does not allow secrets (revoked, expired, or made without --secrets)")
)
