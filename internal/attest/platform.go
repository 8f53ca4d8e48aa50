package attest

import (
	"context"
	"time"

	"github.com/attestd/attestd/internal/registry"
	"github.com/attestd/attestd/verify/devicekey"
	"github.com/attestd/attestd/verify/platform"
)

// Platform checks platform attestation evidence or a receipt (§7).
type Platform interface {
	Check(ctx context.Context, in PlatformInput) PlatformResult
}

// PlatformInput is what a platform check needs. Slices are only read
// during the call.
type PlatformInput struct {
	// Raw is the platform_attestation JSON object as sent, and Evidence
	// the same as the core read it (nil: read Raw), so that a checker
	// need not read those bytes again.
	Raw      []byte
	Evidence *platform.Wire
	App      *registry.App
	// Nonce is the request's nonce (ASCII).
	Nonce []byte
	// DeviceKey is device.key decoded, in the encoding that was sent.
	DeviceKey []byte
	Device    devicekey.Key
	// Signer is the request's app.signer.
	Signer [32]byte
	// Version is the request's app.version (its version code is checked
	// when the app registers version_codes, PROTOCOL.md §9).
	Version []byte
	Now     time.Time
}

// PlatformResult is the outcome: Verified, or the reasons it was refused
// (a §2 reason first, then documented precise ones); Receipt is set after
// hardware evidence verified.
type PlatformResult struct {
	Verified bool
	Reasons  []string
	Receipt  string
}

// noPlatform refuses all evidence: the deployment verifies none.
type noPlatform struct{}

func (noPlatform) Check(context.Context, PlatformInput) PlatformResult {
	return PlatformResult{Reasons: []string{ReasonPAInvalid, "platform_unsupported"}}
}
