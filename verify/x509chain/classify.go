package x509chain

import (
	"errors"
	"fmt"
)

// Sentinels are a verifier's own errors for the classes of chain failure.
// Key is the class of ErrKey; a verifier with no reason of its own for it
// gives the one of a broken chain.
type Sentinels struct {
	Signature, Key, Root, Validity, Malformed error
}

// Classify wraps err (from Parse or Verify) in the verifier's sentinel of
// its class, keeping both in the chain of wrapped errors. An error of no
// class of this package is Malformed.
func (s Sentinels) Classify(err error) error {
	var c error
	switch {
	case errors.Is(err, ErrSignature):
		c = s.Signature
	case errors.Is(err, ErrKey):
		c = s.Key
	case errors.Is(err, ErrRoot):
		c = s.Root
	case errors.Is(err, ErrValidity):
		c = s.Validity
	default:
		c = s.Malformed
	}
	return fmt.Errorf("%w: %w", c, err)
}
