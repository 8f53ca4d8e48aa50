// Package token mints and verifies attestd's attestation tokens (docs/protocol.md
// §3): compact JWTs (RFC 7519) signed with HS256, ES256 (P-256) or EdDSA
// (Ed25519), with the header {"alg":ALG,"typ":"JWT","kid":KID}. A token may
// be bound to the device key by a cnf claim (RFC 7800, docs/protocol.md §10),
// {"jwk":{"kty":"EC","crv":"P-256","x":…,"y":…}}; a cnf of any other form
// is refused as malformed, never read as no cnf.
//
// Who may import: the edge (the attest core mints with a Signer, the proxy
// verifies with a KeySet), backend/ (what an API owner imports), attestctl
// (to check keys it imports), and tests. It imports only the standard library,
// crypto/secret, crypto/internal/ecdsasig and verify/jsonscan (the one JSON
// reader of the edge, which reads headers, claims and JWK Sets here), and
// does no I/O (internal/layering keeps it so).
//
// Rules this package keeps, so that callers need not:
//   - The algorithm is pinned per key: a token is verified only with the
//     algorithm of the key its kid names, whatever its header says.
//   - Work is bounded before it is done: a token over MaxTokenSize, or with a
//     byte outside base64url and '.', is refused before anything is decoded.
//   - HMAC tags and bindings are compared in constant time.
//   - A Signer checks each key it is given by signing and verifying a probe
//     token before it is returned.
//   - Time comes from the caller (Options.Now); the wall clock is read only
//     when Options.Now is the zero time, as documented there.
//
// Signer, VerifyKey and KeySet are immutable once built and safe for
// concurrent use. A Verified is not: give each goroutine its own.
package token

import "errors"

// The errors of this package. Every error returned wraps exactly one of them
// (test with errors.Is); the wrapping text explains the case and never holds
// key material or token contents.
var (
	// ErrMalformed: the token is over MaxTokenSize, is not three base64url
	// parts, or its header or claims are not the JSON this package accepts
	// (including a missing kid, alg or exp, a "crit" header, a duplicate
	// member, a non-integer time, or invalid UTF-8).
	ErrMalformed = errors.New("token: malformed")
	// ErrUnknownKey: no key of the set has the token's kid.
	ErrUnknownKey = errors.New("token: unknown key id")
	// ErrAlgorithm: the header's alg is not the algorithm pinned to the kid's
	// key (this includes "none" and any algorithm swap).
	ErrAlgorithm = errors.New("token: algorithm not allowed for this key")
	// ErrSignature: the signature is missing, has the wrong length, or does
	// not verify.
	ErrSignature = errors.New("token: bad signature")
	// ErrExpired: now is at or after exp plus the leeway.
	ErrExpired = errors.New("token: expired")
	// ErrNotYetValid: iat (or nbf) is later than now plus the leeway.
	ErrNotYetValid = errors.New("token: not yet valid")
	// ErrAudience: aud differs from Options.Audience.
	ErrAudience = errors.New("token: wrong audience")
	// ErrIssuer: iss differs from Options.Issuer.
	ErrIssuer = errors.New("token: wrong issuer")
	// ErrBinding: the token's pay is absent or is not b64u(SHA-256(value)).
	ErrBinding = errors.New("token: binding mismatch")
	// ErrKey: a key, kid or algorithm given to a constructor is unusable
	// (wrong type or curve for the algorithm, HMAC secret under 32 bytes, a
	// failed self-test, an invalid JWK).
	ErrKey = errors.New("token: unusable key")
	// ErrClaims: AppendMint was given claims it cannot encode faithfully
	// (ExpiresAt zero, a string that is not valid UTF-8, or a token that
	// would be over MaxTokenSize).
	ErrClaims = errors.New("token: invalid claims")
)

// Size limits. Tokens and headers above them are refused before decoding.
const (
	// MaxTokenSize is the largest token, in bytes, that Verify looks at.
	MaxTokenSize = 8 << 10
	// MaxKIDLen is the longest key id, in bytes, a key may have.
	MaxKIDLen = 128
	// maxHeaderEnc bounds the encoded header; a header holds alg, typ and a
	// kid of at most MaxKIDLen bytes, each of which may be \u-escaped (6×).
	maxHeaderEnc = 1400
	// maxHeaderDec is the decoded size of maxHeaderEnc base64url characters.
	maxHeaderDec = maxHeaderEnc * 3 / 4
)
