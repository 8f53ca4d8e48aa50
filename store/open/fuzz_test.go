package open

import (
	"errors"
	"testing"

	"github.com/attestd/attestd/store"
)

// FuzzParseURL: any string parses to a usable location or ErrBadURL.
func FuzzParseURL(f *testing.F) {
	for _, s := range []string{DefaultURL, "file:///var/lib/attestd", "file://localhost/x", "etcd://a:1,b:2/p", "etcd://", "x://y", "file://%zz"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		loc, err := ParseURL(raw)
		if err != nil {
			if !errors.Is(err, store.ErrBadURL) {
				t.Fatalf("error not ErrBadURL: %v", err)
			}
			return
		}
		switch loc.Scheme {
		case "file":
			if loc.Dir == "" {
				t.Fatal("file location without a directory")
			}
		case "etcd":
			if len(loc.Endpoints) == 0 || loc.Prefix == "" {
				t.Fatal("etcd location without endpoints or prefix")
			}
		default:
			t.Fatalf("scheme %q", loc.Scheme)
		}
	})
}
