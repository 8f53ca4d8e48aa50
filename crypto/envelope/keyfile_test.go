package envelope

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
)

func keyLine(kid string, seed byte) string {
	return kid + ":" + base64.StdEncoding.EncodeToString(testKey(seed).Reveal())
}

func TestNewKeyFileRoundTrip(t *testing.T) {
	f, err := NewKeyFile("master-1", nil)
	if err != nil {
		t.Fatal(err)
	}
	kr, err := ParseKeyFile(f)
	if err != nil {
		t.Fatalf("ParseKeyFile(NewKeyFile) = %v\n%s", err, f)
	}
	if kr.ActiveKeyID() != "master-1" {
		t.Errorf("active = %q", kr.ActiveKeyID())
	}
	g, _ := NewKeyFile("master-1", nil)
	if bytes.Equal(f, g) {
		t.Error("two new key files are equal")
	}
	// Same file, same keys: what one keyring seals the other opens.
	kr2, _ := ParseKeyFile(f)
	s, _ := kr.Seal([]byte("v"), "n")
	if _, err := kr2.Open(s, "n"); err != nil {
		t.Errorf("second parse of the same file: %v", err)
	}
}

func TestNewKeyFileFormat(t *testing.T) {
	f, err := NewKeyFile("k1", bytes.NewReader(testKey(1).Reveal()))
	if err != nil {
		t.Fatal(err)
	}
	if want := keyLine("k1", 1) + "\n"; !strings.HasSuffix(string(f), "\n"+want) {
		t.Errorf("key file:\n%s\nwant it to end with the line %q", f, want)
	}
	if _, err := NewKeyFile("bad:id", nil); !errors.Is(err, ErrConfig) {
		t.Errorf("NewKeyFile(bad:id) = %v, want ErrConfig", err)
	}
	if _, err := NewKeyFile("k1", io.LimitReader(bytes.NewReader(make([]byte, 64)), 31)); err == nil {
		t.Error("NewKeyFile with a short random source succeeded")
	}
}

func TestParseKeyFile(t *testing.T) {
	file := "# comment\n\n  " + keyLine("new", 2) + "  \r\n\t# old key, still opening\n" + keyLine("old", 1) + "\n"
	kr, err := ParseKeyFile([]byte(file))
	if err != nil {
		t.Fatal(err)
	}
	if kr.ActiveKeyID() != "new" {
		t.Errorf("active = %q, want the first key line", kr.ActiveKeyID())
	}
	oldOnly, err := ParseKeyFile([]byte(keyLine("old", 1)))
	if err != nil {
		t.Fatal(err)
	}
	s, _ := oldOnly.Seal([]byte("v"), "n")
	if v, err := kr.Open(s, "n"); err != nil || string(v.Reveal()) != "v" {
		t.Errorf("second key does not open: %v", err)
	}
}

func TestParseKeyFileErrors(t *testing.T) {
	good := keyLine("k1", 1)
	var many strings.Builder
	for i := range MaxKeys + 1 {
		fmt.Fprintln(&many, keyLine(fmt.Sprint("k", i), byte(i)))
	}
	for _, tc := range []struct {
		name, file string
		want       error
	}{
		{"fail/empty", "", ErrMalformed},
		{"fail/only-comments", "# nothing\n\n", ErrMalformed},
		{"fail/no-colon", strings.Replace(good, ":", "", 1), ErrMalformed},
		{"fail/bad-kid", "k.1" + good[2:], ErrMalformed},
		{"fail/short-key", "k1:" + base64.StdEncoding.EncodeToString(make([]byte, 31)), ErrMalformed},
		{"fail/long-key", "k1:" + base64.StdEncoding.EncodeToString(make([]byte, 33)), ErrMalformed},
		{"fail/unpadded", "k1:" + base64.RawStdEncoding.EncodeToString(make([]byte, 32)) + "A", ErrMalformed},
		{"fail/url-alphabet", "k1:" + strings.Repeat("_", 43) + "=", ErrMalformed},
		{"fail/inner-cr", good[:10] + "\r" + good[11:], ErrMalformed},
		{"fail/duplicate", good + "\n" + good, ErrMalformed},
		{"fail/too-many", many.String(), ErrMalformed},
		{"fail/too-large", strings.Repeat("#", MaxKeyFileSize+1), ErrTooLarge},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseKeyFile([]byte(tc.file))
			if !errors.Is(err, tc.want) {
				t.Fatalf("ParseKeyFile = %v, want %v", err, tc.want)
			}
			if strings.Contains(err.Error(), good[3:]) {
				t.Errorf("error %q shows key material", err)
			}
		})
	}
}
