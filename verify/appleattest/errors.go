package appleattest

import (
	"errors"

	"github.com/attestd/attestd/verify/x509chain"
)

// Sentinel errors. Every error Verify returns wraps exactly one of them,
// and Reason maps each to the short name the core appends to arc after
// platform_attestation_invalid.
var (
	// ErrMalformed (apple_malformed): the attestation object does not
	// decode, is out of bounds, is not "apple-appattest", or its
	// authenticator data or certificates do not parse.
	ErrMalformed = errors.New("appleattest: malformed attestation object")
	// ErrChain (apple_chain): from the anchor towards the leaf, a
	// certificate of x5c is not signed by the one after it or that one says
	// it is not a CA, or a certificate's key or signature algorithm is
	// outside §7's allow-list (x509chain.ErrKey, refused before any
	// signature is checked). The x509chain sentinel stays in the chain.
	ErrChain = errors.New("appleattest: broken certificate chain")
	// ErrRoot (apple_root): x5c's last certificate neither has a configured
	// root's key nor is signed by one.
	ErrRoot = errors.New("appleattest: chain does not end at a configured root")
	// ErrExpiredCert (apple_cert_expired): a certificate between the anchor
	// and the credential certificate (the leaf) is outside its validity at
	// the verification time; the leaf's and the roots' dates are not
	// checked (§7 1.1).
	ErrExpiredCert = errors.New("appleattest: certificate outside its validity")
	// ErrNonce (apple_nonce): the credential certificate has no nonce
	// extension, or it is not SHA-256(authData ‖ clientDataHash).
	ErrNonce = errors.New("appleattest: nonce mismatch")
	// ErrKeyID (apple_keyid): the key id is not SHA-256 of the credential
	// key, or the credential id is not the key id.
	ErrKeyID = errors.New("appleattest: key id mismatch")
	// ErrRPID (apple_rpid): rpIdHash is not SHA-256(team id "." app id).
	ErrRPID = errors.New("appleattest: rpIdHash mismatch")
	// ErrCounter (apple_counter): the counter is not 0.
	ErrCounter = errors.New("appleattest: counter is not zero")
	// ErrAAGUID (apple_aaguid): the aaguid is neither production nor, where
	// the policy allows it, development.
	ErrAAGUID = errors.New("appleattest: aaguid not allowed")
)

// Reason names returned by Reason.
const (
	ReasonMalformed   = "apple_malformed"
	ReasonChain       = "apple_chain"
	ReasonRoot        = "apple_root"
	ReasonExpiredCert = "apple_cert_expired"
	ReasonNonce       = "apple_nonce"
	ReasonKeyID       = "apple_keyid"
	ReasonRPID        = "apple_rpid"
	ReasonCounter     = "apple_counter"
	ReasonAAGUID      = "apple_aaguid"
	// ReasonInvalid names an error that wraps none of this package's sentinels.
	ReasonInvalid = "apple_invalid"
)

// Reason gives the short reason name of an error returned by Verify: one of
// the Reason constants, or "" for nil.
func Reason(err error) string {
	switch {
	case err == nil:
		return ""
	case errors.Is(err, ErrMalformed):
		return ReasonMalformed
	case errors.Is(err, ErrChain):
		return ReasonChain
	case errors.Is(err, ErrRoot):
		return ReasonRoot
	case errors.Is(err, ErrExpiredCert):
		return ReasonExpiredCert
	case errors.Is(err, ErrNonce):
		return ReasonNonce
	case errors.Is(err, ErrKeyID):
		return ReasonKeyID
	case errors.Is(err, ErrRPID):
		return ReasonRPID
	case errors.Is(err, ErrCounter):
		return ReasonCounter
	case errors.Is(err, ErrAAGUID):
		return ReasonAAGUID
	}
	return ReasonInvalid
}

// chainError maps an x509chain error to this package's sentinel, keeping
// both in the chain of wrapped errors.
func chainError(err error) error {
	return x509chain.Sentinels{Signature: ErrChain, Key: ErrChain, Root: ErrRoot, Validity: ErrExpiredCert, Malformed: ErrMalformed}.Classify(err)
}
