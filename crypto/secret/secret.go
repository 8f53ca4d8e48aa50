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
type Value struct {
	b []byte
}

// New returns a Value holding a copy of b.
func New(b []byte) Value { return Value{b: append([]byte(nil), b...)} }

// FromString returns a Value holding the bytes of s.
func FromString(s string) Value { return Value{b: []byte(s)} }

// Reveal returns the secret bytes. The caller must not modify them, and must
// not let them reach a log, an error or an answer.
func (v Value) Reveal() []byte { return v.b }

// Len is the length of the secret in bytes.
func (v Value) Len() int { return len(v.b) }

// IsZero reports whether the secret is empty.
func (v Value) IsZero() bool { return len(v.b) == 0 }

// Equal compares two secrets in constant time (for equal lengths).
func (v Value) Equal(o Value) bool { return subtle.ConstantTimeCompare(v.b, o.b) == 1 }

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
	v.b = []byte(s)
	return nil
}
