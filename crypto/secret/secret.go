// Package secret holds sensitive bytes in a type that never prints.
//
// A Value formats as "[redacted]" with every fmt verb, marshals to JSON and
// text as "[redacted]", and so cannot leak through a log line, an error or an
// API answer by accident. The bytes are reached only through Reveal, which
// makes every use greppable.
//
// Any package may import it; it imports only the standard library.
package secret

import (
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"log/slog"
)

// Redacted is what a Value shows of itself.
const Redacted = "[redacted]"

// Value is an immutable secret byte string. The zero value is an empty
// secret. It is safe for concurrent use.
//
// fmt cannot call String or Format on a Value held in an unexported field
// or a map, and prints such a field by reflection. The bytes therefore sit
// two pointers away: for any verb, fmt prints a pointer to a pointer as an
// address (one pointer to a slice it would print as &[...] under %s).
// reflect.DeepEqual still compares Values by content.
type Value struct {
	p **[]byte
}

// New returns a Value holding a copy of b.
func New(b []byte) Value {
	c := append([]byte(nil), b...)
	pc := &c
	return Value{p: &pc}
}

// FromString returns a Value holding the bytes of s.
func FromString(s string) Value { return New([]byte(s)) }

// Reveal returns the secret bytes. The caller must not modify them, and must
// not let them reach a log, an error or an answer.
func (v Value) Reveal() []byte {
	if v.p == nil {
		return nil
	}
	return **v.p
}

// Len is the length of the secret in bytes.
func (v Value) Len() int { return len(v.Reveal()) }

// IsZero reports whether the secret is empty.
func (v Value) IsZero() bool { return v.Len() == 0 }

// Equal compares two secrets in constant time (for equal lengths).
func (v Value) Equal(o Value) bool { return subtle.ConstantTimeCompare(v.Reveal(), o.Reveal()) == 1 }

// String implements fmt.Stringer.
func (Value) String() string { return Redacted }

// GoString implements fmt.GoStringer, so %#v does not print the bytes.
func (Value) GoString() string { return "secret.Value(" + Redacted + ")" }

// Format implements fmt.Formatter: every verb prints Redacted.
func (Value) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(Redacted)) }

// LogValue implements slog.LogValuer.
func (Value) LogValue() slog.Value { return slog.StringValue(Redacted) }

// MarshalJSON implements json.Marshaler: a Value never marshals its bytes.
func (Value) MarshalJSON() ([]byte, error) { return json.Marshal(Redacted) }

// MarshalText implements encoding.TextMarshaler.
func (Value) MarshalText() ([]byte, error) { return []byte(Redacted), nil }

// UnmarshalJSON reads a JSON string as the secret's bytes (as they are, not
// decoded); callers that need base64 decode Reveal() themselves.
func (v *Value) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("secret: want a JSON string: %w", err)
	}
	*v = FromString(s)
	return nil
}
