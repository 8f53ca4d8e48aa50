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

// numCodes counts success (index 0: no code, status 200) and apierr's
// public errors, in apierr.Errors' order: a code apierr can answer with
// has its fast series here without being listed again.
const numCodes = 1 + apierr.NumCodes

// codeNames and codeStatus are each code index's code and the status it
// is answered with (apierr's sentinels). Built once from apierr's table;
// never written after.
var codeNames, codeStatus = fixedCodes()

func fixedCodes() (names [numCodes]apierr.Code, status [numCodes]int) {
	status[0] = 200
	for i, e := range apierr.Errors() {
		names[i+1], status[i+1] = e.Code, e.Status
	}
	return names, status
}

// codeIndex is c's index in codeNames, -1 outside the closed set.
func codeIndex(c apierr.Code) int {
	if c == "" {
		return 0
	}
	if i := c.Index(); i >= 0 {
		return i + 1
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
