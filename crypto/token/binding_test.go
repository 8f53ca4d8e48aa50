package token

import (
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"testing"
)

func TestBindingHash(t *testing.T) {
	sum := sha256.Sum256([]byte("Bearer abc"))
	if got, want := BindingHash([]byte("Bearer abc")), base64.RawURLEncoding.EncodeToString(sum[:]); got != want {
		t.Fatalf("BindingHash = %q, want %q", got, want)
	}
	// SHA-256 of the empty string, a known vector.
	if got := BindingHash(nil); got != "47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU" {
		t.Fatalf("BindingHash(nil) = %q", got)
	}
}

func TestCheckBinding(t *testing.T) {
	bound := Claims{Payload: BindingHash([]byte("Bearer abc"))}
	cases := []struct {
		name  string
		c     Claims
		value []byte
		ok    bool
	}{
		{"match", bound, []byte("Bearer abc"), true},
		{"other-value", bound, []byte("Bearer abd"), false},
		{"nil-value", bound, nil, false},
		{"empty-value", Claims{Payload: BindingHash([]byte{})}, []byte{}, true},
		{"empty-value-is-not-nil", Claims{Payload: BindingHash([]byte{})}, nil, false},
		{"unbound", Claims{}, []byte("Bearer abc"), false},
		{"truncated-pay", Claims{Payload: bound.Payload[:42]}, []byte("Bearer abc"), false},
		{"raw-value-as-pay", Claims{Payload: "Bearer abc"}, []byte("Bearer abc"), false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckBinding(&tc.c, tc.value)
			if tc.ok != (err == nil) || (err != nil && !errors.Is(err, ErrBinding)) {
				t.Fatalf("CheckBinding = %v, want ok=%v", err, tc.ok)
			}
			v := Verified{Payload: []byte(tc.c.Payload)}
			if err2 := v.CheckBinding(tc.value); (err2 == nil) != (err == nil) {
				t.Fatalf("Verified.CheckBinding = %v, CheckBinding = %v", err2, err)
			}
		})
	}
}
