// Package attest is the transport-neutral core of the edge: challenges
// (PROTOCOL.md §1) and attestation (§2-5, §7). Adapters (fasthttp, HTTP/3)
// copy bytes out of their requests, call Challenge or Attest, and write the
// answer or map the error with apierr.From.
//
// An attest is admitted (the protocol checks of §2 up to the signature),
// rate-limited per device key, decided (decide: a Decision, with no side
// effect), its nonce used under the Decision's replay class, and answered
// (appendAnswer).
//
// The core imports no transport and no store client: the registry view,
// the replay set, the clock and the platform verifiers are given to New.
//
// Only packages of this module import it.
package attest
