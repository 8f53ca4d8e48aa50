package envelope

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/attestd/attestd/crypto/secret"
)

// fuzzKeyring holds the keys the committed corpus was sealed with:
// "m1" = testKey(1) (active) and "m0" = testKey(2).
func fuzzKeyring(t testing.TB) *Keyring {
	return newKeyring(t, "m1", map[string]secret.Value{"m1": testKey(1), "m0": testKey(2)})
}

// FuzzOpen: Open never panics, answers only with its sentinels, and opens
// only the canonical spelling of what Seal wrote for that very name.
func FuzzOpen(f *testing.F) {
	kr := fuzzKeyring(f)
	f.Add(seal(f, kr, "value", "accounts/acme/keys/k1"), "accounts/acme/keys/k1")
	f.Add("v1:m1:", "n")
	f.Fuzz(func(t *testing.T, sealed, name string) {
		v, err := kr.Open(sealed, name)
		if err != nil {
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrUnknownKey) && !errors.Is(err, ErrDecrypt) && !errors.Is(err, ErrTooLarge) {
				t.Fatalf("Open: unexpected error %v", err)
			}
			if !v.IsZero() {
				t.Fatal("value returned with an error")
			}
			return
		}
		kid, body, ok := split(sealed)
		if !ok || kr.aeads[kid] == nil {
			t.Fatalf("opened %q, which does not split", sealed)
		}
		raw, derr := kr.enc.DecodeString(body)
		if derr != nil || kr.enc.EncodeToString(raw) != body {
			t.Fatalf("opened a non-canonical spelling %q", sealed)
		}
		if _, err := kr.Open(sealed, name+"x"); !errors.Is(err, ErrDecrypt) {
			t.Fatalf("opened %q under another name: %v", sealed, err)
		}
	})
}

// FuzzParseKeyFile: ParseKeyFile never panics, fails only with
// ErrMalformed or ErrTooLarge, never echoes a line, and a keyring it
// returns seals and opens.
func FuzzParseKeyFile(f *testing.F) {
	f.Add([]byte(keyLine("k1", 1) + "\n" + keyLine("k2", 2) + "\n"))
	f.Add([]byte("# c\n\nk1:"))
	f.Fuzz(func(t *testing.T, file []byte) {
		kr, err := ParseKeyFile(file)
		if err != nil {
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrTooLarge) {
				t.Fatalf("ParseKeyFile: unexpected error %v", err)
			}
			// Only a key id (validated, printable) may appear quoted.
			if i := strings.IndexByte(err.Error(), '\n'); i >= 0 {
				t.Fatalf("error spans lines: %q", err)
			}
			return
		}
		if !bytes.Contains(file, []byte(kr.ActiveKeyID()+":")) {
			t.Fatalf("active key %q is not in the file", kr.ActiveKeyID())
		}
		s, err := kr.Seal([]byte("probe"), "n")
		if err != nil {
			t.Fatal(err)
		}
		if v, err := kr.Open(s, "n"); err != nil || string(v.Reveal()) != "probe" {
			t.Fatalf("round trip: %v", err)
		}
	})
}
