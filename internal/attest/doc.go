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
// Monitor mode and debug tokens (§11) are part of the Decision: an app in
// monitor mode has its failed verdicts signed with the account's key
// (Decision.RealKey) and marked mon; a live debug token of the app waives
// the checks that only a genuine build passes (Decision.Debug). Both make
// real-key tokens that prove no genuine app, so their nonces are spent from
// a replay budget of their own (replay.Monitor), and neither releases
// secrets on a failure (Decision.Secrets).
//
// The core imports no transport and no store client: the registry view,
// the replay set, the clock and the platform verifiers are given to New.
//
// Only packages of this module import it.
package attest
