package proxy

import (
	"errors"
	"testing"

	"github.com/attestd/attestd/crypto/secret"
	"github.com/attestd/attestd/internal/apierr"
	"github.com/attestd/attestd/internal/registry"
)

func TestProxyTarget(t *testing.T) {
	for _, tc := range []struct {
		name, upstream, query, path, clientQuery, want string
	}{
		{"join/no-slashes", "https://up.example/base", "", "/v1/proxy/maps/a/b", "", "https://up.example/base/a/b"},
		{"join/upstream-slash", "https://up.example/base/", "", "/v1/proxy/maps/a", "", "https://up.example/base/a"},
		{"join/root", "https://up.example", "", "/v1/proxy/maps/a", "", "https://up.example/a"},
		{"join/root-slash", "https://up.example/", "", "/v1/proxy/maps/a", "", "https://up.example/a"},
		{"join/no-path", "https://up.example/base", "", "/v1/proxy/maps", "", "https://up.example/base"},
		{"join/trailing-slash", "https://up.example/base", "", "/v1/proxy/maps/", "", "https://up.example/base/"},
		{"join/keeps-escapes", "https://up.example/b%20x", "", "/v1/proxy/maps/a%20b/c%3F", "", "https://up.example/b%20x/a%20b/c%3F"},
		{"query/upstream-then-client", "https://up.example/q?v=1", "", "/v1/proxy/maps/x", "a=2&b=3", "https://up.example/q/x?v=1&a=2&b=3"},
		{"query/client-only", "http://up.example:8080", "", "/v1/proxy/maps/x", "a=%20", "http://up.example:8080/x?a=%20"},
		{"inject/appended", "https://up.example?v=1", "key", "/v1/proxy/maps/x", "a=2", "https://up.example/x?v=1&a=2&key=s%2Bcr%26t"},
		{"inject/replaces-client", "https://up.example", "key", "/v1/proxy/maps/x", "key=evil&a=1&key=more&%6Bey=enc&keyx=kept", "https://up.example/x?a=1&keyx=kept&key=s%2Bcr%26t"},
		{"inject/bare-name", "https://up.example", "key", "/v1/proxy/maps/x", "key&a", "https://up.example/x?a&key=s%2Bcr%26t"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			api := &registry.API{Name: "maps", Upstream: tc.upstream, Query: tc.query, Secret: secret.FromString("s+cr&t")}
			name, rest, err := splitPath(tc.path)
			if err != nil || name != "maps" {
				t.Fatalf("splitPath: %q %v", name, err)
			}
			u, err := target(api, rest, tc.clientQuery)
			if err != nil {
				t.Fatal(err)
			}
			if got := u.String(); got != tc.want {
				t.Errorf("got  %s\nwant %s", got, tc.want)
			}
		})
	}
}

func TestProxySplitPathRefuses(t *testing.T) {
	for _, tc := range []struct {
		path string
		want *apierr.Error
	}{
		{"/v1/proxy/", apierr.ErrNotFound},
		{"/v1/proxy//x", apierr.ErrNotFound},
		{"/v1/other/maps", apierr.ErrNotFound},
		{"/v1/proxy/%zz/x", apierr.ErrNotFound},
		{"/v1/proxy/maps/../admin", apierr.ErrBadRequest},
		{"/v1/proxy/maps/a/%2e%2E/admin", apierr.ErrBadRequest},
		{"/v1/proxy/maps/./x", apierr.ErrBadRequest},
		{"/v1/proxy/maps/%zz", apierr.ErrBadRequest},
		{"/v1/proxy/%2e%2e/admin", apierr.ErrNotFound},
		{"/v1/proxy/ma%2Fps/x", apierr.ErrNotFound},
		{"/v1/proxy/..;/x", apierr.ErrNotFound},
		{"/v1/proxy/maps/a%2Fb", apierr.ErrBadRequest},
	} {
		if _, _, err := splitPath(tc.path); !errors.Is(err, tc.want) {
			t.Errorf("%s: got %v, want %v", tc.path, err, tc.want)
		}
	}
	if name, rest, err := splitPath("/v1/proxy/ma%70s/a..b/.x"); err != nil || name != "maps" || rest != "/a..b/.x" {
		t.Errorf("dots inside names: %q %q %v", name, rest, err)
	}
}
