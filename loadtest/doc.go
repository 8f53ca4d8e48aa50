// Package loadtest is the load generator of attestd (cmd/attestload is its
// thin main): it speaks the protocol as many devices of a registered app
// would, in a closed loop (N workers, each sending its next attest when the
// last is answered) or an open loop (attests started at a fixed rate, their
// latency counted from when each was due, so that a stall of the target is
// measured in full rather than hidden by a generator that waits for it),
// over HTTP/1.1 or HTTP/3, with a mix of passing and failing evidence. It
// reports throughput, latency quantiles from its own HDR-style histogram,
// errors by code and verdicts by reason (read from the token's arc), as
// text or JSON.
//
// Every run is bounded by a duration or a count, and targets only loopback
// addresses unless told otherwise (Config.AllowRemote).
//
// The generator's registry (Bundle, WriteBundle) has fixed digests that the
// generator knows; only the account's token key is random. Its attest
// bodies and signatures are made by client.Attester, byte for byte those
// of the reference SDK.
package loadtest
