package client

import (
	"net/url"
	"testing"
)

func TestSecretHostsMatch(t *testing.T) {
	for _, tc := range []struct {
		entry string
		yes   []string
		no    []string
	}{
		{"api.test", []string{"https://api.test/x", "https://API.test:8443/x"}, []string{"http://api.test/x", "https://api.test.evil/x", "https://evil.test/api.test"}},
		{"api.test:443", []string{"https://api.test/x", "https://api.test:443/x"}, []string{"https://api.test:8443/x", "http://api.test:443/x"}},
		{"https://api.test:8443", []string{"https://api.test:8443/"}, []string{"https://api.test/", "http://api.test:8443/"}},
		{"http://127.0.0.1:8080", []string{"http://127.0.0.1:8080/a"}, []string{"https://127.0.0.1:8080/a", "http://127.0.0.1/a"}},
		{"http://localhost", []string{"http://localhost/a", "http://localhost:80/a"}, []string{"http://localhost:8080/a"}},
		{"[::1]:443", []string{"https://[::1]/a"}, []string{"https://[::1]:8443/a"}},
	} {
		o, err := parseOrigin(tc.entry)
		if err != nil {
			t.Fatalf("%q: %v", tc.entry, err)
		}
		for _, s := range tc.yes {
			if u, _ := url.Parse(s); !o.matches(u) {
				t.Errorf("%q does not match %s", tc.entry, s)
			}
		}
		for _, s := range tc.no {
			if u, _ := url.Parse(s); o.matches(u) {
				t.Errorf("%q matches %s", tc.entry, s)
			}
		}
	}
}
