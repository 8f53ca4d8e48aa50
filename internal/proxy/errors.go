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
)
