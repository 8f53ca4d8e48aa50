package client

import (
	"errors"
	"testing"
)

func TestRoundTripperPlaceholders(t *testing.T) {
	vals := map[string]string{"k": "v&1 /", "a.b-c_d": "x"}
	lookup := func(n string) ([]byte, error) {
		v, ok := vals[n]
		if !ok {
			return nil, ErrSecretUnavailable
		}
		return []byte(v), nil
	}
	for _, tc := range []struct{ in, want string }{
		{"plain", "plain"},
		{"{{secret:k}}", "v&1 /"},
		{"Bearer {{secret:k}}!", "Bearer v&1 /!"},
		{"{{secret:k}}{{secret:a.b-c_d}}", "v&1 /x"},
		{"{{secret}} {{other:k}}", "{{secret}} {{other:k}}"},
	} {
		got, err := expand(tc.in, lookup)
		if err != nil || got != tc.want {
			t.Errorf("expand(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
	if _, err := expand("{{secret:nope}}", lookup); !errors.Is(err, ErrSecretUnavailable) {
		t.Errorf("unknown name: %v", err)
	}
	if _, err := expand("{{secret:k", lookup); err == nil {
		t.Error("unterminated placeholder accepted")
	}
	for _, tc := range []struct{ in, want string }{
		{"a=1&key=%7B%7Bsecret%3Ak%7D%7D&b", "a=1&key=v%261+%2F&b"},
		{"key={{secret:k}}", "key=v%261+%2F"},
		{"x=%zz&y=2", "x=%zz&y=2"},
	} {
		got, err := expandQuery(tc.in, lookup)
		if err != nil || got != tc.want {
			t.Errorf("expandQuery(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
	if !hasPlaceholder(nil, "k=%7b%7bsecret%3ak%7d%7d") || hasPlaceholder(map[string][]string{"A": {"b"}}, "c=d") {
		t.Error("hasPlaceholder")
	}
}
