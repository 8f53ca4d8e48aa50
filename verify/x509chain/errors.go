package x509chain

import "errors"

// Sentinel errors. Every error Parse, Verify, CheckAlgorithms and
// ParseRootsPEM return wraps exactly one of them, so callers map failures
// with errors.Is (Sentinels.Classify does it for a verifier).
var (
	// ErrMalformed: the chain is empty, too long, a certificate is too large
	// or does not parse, or a PEM root file is unusable (too large, too many
	// roots, a block that is not a parsable certificate, none at all).
	ErrMalformed = errors.New("x509chain: malformed certificate chain")
	// ErrKey: a certificate's or a root's public key or signature algorithm
	// is not on §7's allow-list (see CheckAlgorithms). Verify returns it
	// before checking any signature.
	ErrKey = errors.New("x509chain: key or signature algorithm not allowed")
	// ErrSignature: from the anchor towards the leaf, a certificate is not
	// signed by the key of the one after it, or that one says it is not a CA.
	ErrSignature = errors.New("x509chain: certificate not signed by the next")
	// ErrRoot: the last certificate neither has a configured root's key nor
	// is signed by one.
	ErrRoot = errors.New("x509chain: chain does not end at a configured root")
	// ErrValidity: a certificate between the anchor and the leaf is outside
	// its validity period at the given time.
	ErrValidity = errors.New("x509chain: certificate outside its validity period")
)
