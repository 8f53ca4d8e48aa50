// Package httpsig implements the parts of HTTP Message Signatures (RFC 9421)
// and Digest Fields (RFC 9530) that attestd's request signatures use
// (docs/protocol.md §10): a bounded parser of the Structured Field Values of
// RFC 8941 that Signature-Input, Signature and Content-Digest are written
// in, the signature base, ecdsa-p256-sha256 signing and verification, the
// Content-Digest field (sha-256, and sha-512 when present), and the §10
// profile: label att over @method, @authority, @path, @query (when the
// request has a query), attest-token and content-digest (when it has a
// body), keyid = the did of the key, created within a window.
//
// Who may import: the client (signing), backend and the edge's proxy
// (verifying), and tests. It imports only the standard library and
// crypto/internal/ecdsasig (internal/layering keeps it so), and does no
// I/O; time comes from the caller.
//
// Rules this package keeps, so that callers need not:
//   - Work is bounded before it is done: a field value over MaxFieldSize,
//     a dictionary of more than MaxMembers members, an inner list of more
//     than MaxComponents items, more than MaxParams parameters, or a key
//     over MaxKeyLen bytes is refused while parsing, and a signature base
//     over MaxBaseSize is refused while it is built.
//   - What two parsers could read differently is refused rather than
//     resolved: a duplicate dictionary key, a duplicate parameter, a
//     duplicate component, a component with parameters, a signature
//     parameter this package does not know, a component value holding a
//     control character. (RFC 8941 lets the last duplicate win; a signer
//     that follows RFC 9421 never sends one.)
//   - The algorithm is never the message's word: only ecdsa-p256-sha256
//     is verified, an alg parameter naming anything else is refused, and
//     the key is the caller's.
//   - A signature has one identity whatever its encoding: the replay id
//     of a signature is the same for (r, s) and its malleated twin
//     (r, n-s).
//
// Scratch holds the buffers of one verification; it is not safe for
// concurrent use (a sync.Pool of *Scratch works well). Everything else is
// immutable or a pure function.
package httpsig

import "errors"

// The errors of this package. Every error returned wraps exactly one of
// them (test with errors.Is); the wrapping text explains the case and
// never holds a field value, a signature or a key.
var (
	// ErrMissing: the message has no Signature-Input or Signature field,
	// or none has the label asked for.
	ErrMissing = errors.New("httpsig: no signature")
	// ErrMalformed: a field is not the Structured Field Value its grammar
	// asks for, is over a limit, or holds something this package refuses
	// (see the package doc); or the signature is not 64 bytes.
	ErrMalformed = errors.New("httpsig: malformed signature fields")
	// ErrComponents: a component the profile requires is not covered, a
	// covered component is unknown to the message or absent from it, or a
	// component value cannot be put in a signature base.
	ErrComponents = errors.New("httpsig: covered components")
	// ErrKeyID: keyid is absent or does not name the key.
	ErrKeyID = errors.New("httpsig: keyid")
	// ErrAlgorithm: alg names an algorithm other than ecdsa-p256-sha256.
	ErrAlgorithm = errors.New("httpsig: algorithm not allowed")
	// ErrTime: created is absent, or out of the window around now, or the
	// signature expired.
	ErrTime = errors.New("httpsig: signature time")
	// ErrDigest: Content-Digest is absent, malformed, has no sha-256, or a
	// digest it holds does not match the body.
	ErrDigest = errors.New("httpsig: content digest")
	// ErrSignature: the signature does not verify with the key.
	ErrSignature = errors.New("httpsig: bad signature")
	// ErrKey: a key given to this package is not a P-256 key.
	ErrKey = errors.New("httpsig: unusable key")
)

// Limits. Genuine §10 fields are a few hundred bytes; the limits leave room
// for other signatures of the same message and nothing more.
const (
	// MaxFieldSize bounds the combined value of Signature-Input, Signature
	// and Content-Digest, each, in bytes.
	MaxFieldSize = 4096
	// MaxMembers bounds the members of one dictionary.
	MaxMembers = 8
	// MaxComponents bounds the items of one inner list.
	MaxComponents = 16
	// MaxParams bounds the parameters of one item or inner list.
	MaxParams = 8
	// MaxKeyLen bounds a dictionary or parameter key, in bytes (RFC 8941
	// asks parsers to take at least 64).
	MaxKeyLen = 64
	// MaxComponentLen bounds a component identifier, in bytes.
	MaxComponentLen = 128
	// MaxBaseSize bounds a signature base, in bytes: room for a token of
	// crypto/token's MaxTokenSize and the other components.
	MaxBaseSize = 16 << 10
)

// Label is the signature label of docs/protocol.md §10.
const Label = "att"

// Alg is the one algorithm this package signs and verifies with (RFC 9421
// §3.3.4).
const Alg = "ecdsa-p256-sha256"
