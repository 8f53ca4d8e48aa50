// Package limit bounds the work one edge node accepts, before any of it is
// done: bounds on requests in flight, one for the API's requests and one,
// apart, for proxied requests (which may be held for the proxy's stream
// timeout: counted with the API's, a token holder's slow uploads could
// take every place from challenges and attests), and within the latter a
// share per device (a token's did within its account: AdmitDevice, so that
// one token cannot take every proxied place; see device.go); shedding while requests
// wait too long for a CPU (all answered overloaded, 503; see Run for why
// the last is what protects a CPU-bound node); and per-source rate limits,
// per client IP for challenges and per device key for attests (answered
// rate_limited, 429), each with its Retry-After.
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
// Where the adapters and the core call it (see AdmitRequest, AdmitProxied,
// AllowChallenge, AllowAttest, Run): Run as one of the node's tasks; the
// in-flight bounds first of all, as the transport hands a request over (the
// proxy's before anything of a proxied request is read; the device's share
// once the proxied request's token has verified); the challenge limit
// (per client address: every request counts) before a nonce is issued; the
// attest limit (per device key) only once the request's signature has
// verified, and before the verdict and the nonce's use (PROTOCOL.md §2,
// 1.1): a limit keyed by something a stranger can name (a device's public
// key) must count only what the key's holder sent, or anyone who knows the
// key could keep the device rate-limited with forgeries. The ECDSA
// verification a forgery costs is bounded by the in-flight bound and the
// shedding, not by this limit.
//
// A nil *Limiter admits everything. A *Limiter is safe for concurrent use.
// The errors it returns are apierr errors and map to their public codes
// with apierr.From.
//
// Only packages of this module import it.
package limit
