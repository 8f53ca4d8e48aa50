package x509chain

import (
	"errors"
	"fmt"
)

// Sentinels are a verifier's own errors for the classes of chain failure.
type Sentinels struct {
	Signature, Root, Validity, Malformed error
}

// Classify wraps err (from Parse or Verify) in the verifier's sentinel of
// its class, keeping both in the chain of wrapped errors.
func (s Sentinels) Classify(err error) error {
	var c error
	switch {
	case errors.Is(err, ErrSignature):
		c = s.Signature
	case errors.Is(err, ErrRoot):
		c = s.Root
	case errors.Is(err, ErrValidity):
		c = s.Validity
	default:
		c = s.Malformed
	}
	return fmt.Errorf("%w: %w", c, err)
}
