package x509chain

import "errors"

// Sentinel errors. Every error this package returns wraps exactly one of
// them, so callers map failures with errors.Is.
var (
	// ErrMalformed: the chain is empty, too long, a certificate is too large
	// or does not parse, or a PEM root file is unusable.
	ErrMalformed = errors.New("x509chain: malformed certificate chain")
	// ErrSignature: a certificate is not signed by the one after it, or a
	// certificate after the first says it is not a CA.
	ErrSignature = errors.New("x509chain: certificate not signed by the next")
	// ErrRoot: the last certificate is neither a configured root nor signed
	// by one.
	ErrRoot = errors.New("x509chain: chain does not end at a configured root")
	// ErrValidity: a certificate of the chain, or every root it could end at,
	// is outside its validity period at the given time.
	ErrValidity = errors.New("x509chain: certificate outside its validity period")
)
