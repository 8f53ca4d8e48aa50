// Package attest is the transport-neutral core of the edge: challenges
// (PROTOCOL.md §1) and attestation (§2-5, §7). Adapters (fasthttp, HTTP/3)
// copy bytes out of their requests, call Challenge or Attest, and write the
// answer or map the error with apierr.From.
//
// The core imports no transport and no store client: the registry view,
// the replay set, the clock and the platform verifiers are given to New.
//
// Only packages of this module import it.
package attest
