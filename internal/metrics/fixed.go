package metrics

import (
	"github.com/attestd/attestd/internal/api"
	"github.com/attestd/attestd/internal/apierr"
	"github.com/attestd/attestd/internal/attest"
	"github.com/attestd/attestd/verify/playintegrity"
)

// The closed label sets of the per-request series: the router's and the
// proxy's endpoints, the public error codes with the status each is
// answered with, and the verdict reasons of PROTOCOL.md §2. A value of
// these sets indexes an array of series (a switch, no hashing); a value
// outside them is still counted, through a map (Metrics.reqSeries and the
// others). The lists only decide which path is fast, never what is counted.

// endpointProxy is proxy.Endpoint (fixed_test.go checks it; the proxy
// package is not imported for one string).
const endpointProxy = "proxy"

const numEndpoints = 5

var endpointNames = [numEndpoints]string{
	api.EndpointChallenge, api.EndpointAttest, api.EndpointJWKS, endpointProxy, api.EndpointOther,
}

func endpointIndex(e string) int {
	switch e {
	case api.EndpointChallenge:
		return 0
	case api.EndpointAttest:
		return 1
	case api.EndpointJWKS:
		return 2
	case endpointProxy:
		return 3
	case api.EndpointOther:
		return 4
	}
	return -1
}

const numCodes = 16

// codeNames[0] is success: no code, status 200.
var codeNames = [numCodes]apierr.Code{"",
	apierr.BadRequest, apierr.UnsupportedMediaType, apierr.BodyTooLarge,
	apierr.NonceInvalid, apierr.NonceExpired, apierr.NonceReplayed,
	apierr.SignatureInvalid, apierr.TokenInvalid, apierr.NotFound,
	apierr.MethodNotAllowed, apierr.RateLimited, apierr.Overloaded,
	apierr.BadGateway, apierr.Internal, apierr.RequestSignatureInvalid,
}

// codeStatus is the status each code is answered with (apierr's sentinels).
var codeStatus = [numCodes]int{200,
	apierr.ErrBadRequest.Status, apierr.ErrMediaType.Status, apierr.ErrBodyTooLarge.Status,
	apierr.ErrNonceInvalid.Status, apierr.ErrNonceExpired.Status, apierr.ErrNonceReplayed.Status,
	apierr.ErrSignatureInvalid.Status, apierr.ErrTokenInvalid.Status, apierr.ErrNotFound.Status,
	apierr.ErrMethodNotAllowed.Status, apierr.ErrRateLimited.Status, apierr.ErrOverloaded.Status,
	apierr.ErrBadGateway.Status, apierr.ErrInternal.Status, apierr.ErrRequestSignatureInvalid.Status,
}

func codeIndex(c apierr.Code) int {
	switch c {
	case "":
		return 0
	case apierr.BadRequest:
		return 1
	case apierr.UnsupportedMediaType:
		return 2
	case apierr.BodyTooLarge:
		return 3
	case apierr.NonceInvalid:
		return 4
	case apierr.NonceExpired:
		return 5
	case apierr.NonceReplayed:
		return 6
	case apierr.SignatureInvalid:
		return 7
	case apierr.TokenInvalid:
		return 8
	case apierr.NotFound:
		return 9
	case apierr.MethodNotAllowed:
		return 10
	case apierr.RateLimited:
		return 11
	case apierr.Overloaded:
		return 12
	case apierr.BadGateway:
		return 13
	case apierr.Internal:
		return 14
	case apierr.RequestSignatureInvalid:
		return 15
	}
	return -1
}

// numReasons: the 14 reasons of §2 and §11, then the precise reasons of
// Play Integrity (§10), which a deployment that uses it counts on every
// refusal.
const numReasons = 14 + len(playintegrity.Reasons)

var reasonNames = [numReasons]string{
	attest.ReasonAppUnknown, attest.ReasonPlatformMismatch, attest.ReasonSignerMismatch,
	attest.ReasonVersionUnknown, attest.ReasonMeasurementMismatch, attest.ReasonRooted,
	attest.ReasonDebugger, attest.ReasonHooked, attest.ReasonEmulator,
	attest.ReasonPAMissing, attest.ReasonPAInvalid, attest.ReasonPAExpired,
	attest.ReasonDeviceBanned, attest.ReasonDebugTokenInvalid,
	playintegrity.ReasonMalformed, playintegrity.ReasonKeys, playintegrity.ReasonUnconfigured,
	playintegrity.ReasonNonce, playintegrity.ReasonStale, playintegrity.ReasonApp,
	playintegrity.ReasonDevice, playintegrity.ReasonUnlicensed, playintegrity.ReasonPlayProtect,
}

func reasonIndex(r string) int {
	switch r {
	case attest.ReasonAppUnknown:
		return 0
	case attest.ReasonPlatformMismatch:
		return 1
	case attest.ReasonSignerMismatch:
		return 2
	case attest.ReasonVersionUnknown:
		return 3
	case attest.ReasonMeasurementMismatch:
		return 4
	case attest.ReasonRooted:
		return 5
	case attest.ReasonDebugger:
		return 6
	case attest.ReasonHooked:
		return 7
	case attest.ReasonEmulator:
		return 8
	case attest.ReasonPAMissing:
		return 9
	case attest.ReasonPAInvalid:
		return 10
	case attest.ReasonPAExpired:
		return 11
	case attest.ReasonDeviceBanned:
		return 12
	case attest.ReasonDebugTokenInvalid:
		return 13
	}
	return playReasonIndex(r)
}

func playReasonIndex(r string) int {
	switch r {
	case playintegrity.ReasonMalformed:
		return 14
	case playintegrity.ReasonKeys:
		return 15
	case playintegrity.ReasonUnconfigured:
		return 16
	case playintegrity.ReasonNonce:
		return 17
	case playintegrity.ReasonStale:
		return 18
	case playintegrity.ReasonApp:
		return 19
	case playintegrity.ReasonDevice:
		return 20
	case playintegrity.ReasonUnlicensed:
		return 21
	case playintegrity.ReasonPlayProtect:
		return 22
	}
	return -1
}
