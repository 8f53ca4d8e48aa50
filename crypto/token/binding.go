package token

import (
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
)

// bindingLen is the length of b64u(SHA-256(x)).
const bindingLen = 43

// BindingHash returns b64u(SHA-256(value)): the pay claim of a token bound to
// value (docs/protocol.md §3).
func BindingHash(value []byte) string {
	var enc [bindingLen]byte
	return string(appendBinding(enc[:0], value))
}

func appendBinding(dst, value []byte) []byte {
	sum := sha256.Sum256(value)
	return b64.AppendEncode(dst, sum[:])
}

// CheckBinding reports, as nil or ErrBinding, whether c is bound to value:
// c.Payload equals BindingHash(value), compared in constant time. A token
// without pay is bound to nothing, and a nil value matches nothing.
func CheckBinding(c *Claims, value []byte) error {
	return checkBinding([]byte(c.Payload), value)
}

// CheckBinding is CheckBinding for verified claims; it does not allocate.
func (v *Verified) CheckBinding(value []byte) error {
	return checkBinding(v.Payload, value)
}

func checkBinding(pay, value []byte) error {
	if len(pay) == 0 {
		return fmt.Errorf("%w: the token is not bound", ErrBinding)
	}
	if value == nil {
		return fmt.Errorf("%w: the token is bound but no value was given", ErrBinding)
	}
	var enc [bindingLen]byte
	want := appendBinding(enc[:0], value)
	if len(pay) != len(want) || subtle.ConstantTimeCompare(pay, want) != 1 {
		return fmt.Errorf("%w: pay is not the hash of the bound value", ErrBinding)
	}
	return nil
}
