// Package limit bounds the work one edge node accepts, before any of it is
// done: a bound on requests in flight and shedding while requests wait too
// long for a CPU (both answered overloaded, 503; see Run for why the second
// is what protects a CPU-bound node), and per-source rate limits, per client
// IP for challenges and per device key for attests (answered rate_limited,
// 429), each with its Retry-After.
//
// Memory is bounded whatever the traffic: the rate limits live in
// fixed-size tables allocated once (Config.TableSize entries each, 16 bytes
// an entry), keyed by a seeded hash of the source, never in maps that grow
// with attacker-chosen keys. When a table is full, a new source takes the
// place of the least constrained entry of its set: one that has refilled is
// replaced at no loss; otherwise that source's state is forgotten and it
// starts again from a full bucket. Size the tables above the number of
// sources active within a bucket's refill time.
//
// The rate limits are GCRA (the generic cell rate algorithm, a token bucket
// held as one "theoretical arrival time" per source): Rate tokens a second,
// up to Burst at once.
//
// Where the adapters and the core call it (see AdmitRequest, AllowChallenge,
// AllowAttest, Run): Run as one of the node's tasks; the in-flight bound first of all, as the transport hands a
// request over; the challenge limit before a nonce is issued; the attest
// limit after the body is parsed and the device key is known to be a P-256
// point, and before the nonce check and the ECDSA verification.
//
// A nil *Limiter admits everything. A *Limiter is safe for concurrent use.
// The errors it returns are apierr errors and map to their public codes
// with apierr.From.
//
// Only packages of this module import it.
package limit
