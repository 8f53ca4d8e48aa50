// Package playintegrity verifies a classic Play Integrity token locally
// (PROTOCOL.md §10), with the keys the app's owner downloads from Play
// Console and no call to Google: the token is a compact JWE (A256KW,
// A256GCM) whose plaintext is a compact JWS (ES256) of the verdict, a JSON
// payload.
//
// Verify decrypts and verifies the token with the app's KeySet (Open), reads
// the payload (ParsePayload) and checks it against the attest request (the
// package name, the nonce bound to the attestd nonce and the device key,
// the time, the signing certificate) and the app's Policy (app recognition,
// device labels, licensing, Play Protect). It returns the Verdicts found,
// which a receipt records, or an error that Reason names for arc.
//
// Everything is bounded before it is parsed: the token's length (MaxToken),
// its five parts and their sizes (a 40-byte wrapped key, a 12-byte IV, a
// 16-byte tag), the protected headers (MaxHeader bytes, a flat object of
// strings whose members are on an allow-list: no zip, crit, jwk, x5c, jku,
// b64 or anything else), the JWS's three parts and its 64-byte signature,
// and the payload's nesting (MaxPayloadDepth). The algorithms are pinned
// twice: by the header check, and by go-jose's allow-lists
// (ParseEncryptedCompact, ParseSignedCompact). Decompression ("zip") is
// refused before go-jose could inflate anything.
//
// The package is pure: the keys, the clock and the nonce lifetime are
// passed in. Its values are immutable and safe for concurrent use. It
// imports the standard library, go-jose and crypto/secret.
package playintegrity
