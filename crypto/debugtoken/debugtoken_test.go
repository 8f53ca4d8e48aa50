package debugtoken

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"strings"
	"testing"
)

func TestNewIsWellFormedAndUnique(t *testing.T) {
	seen := map[string]bool{}
	for range 100 {
		tok, err := New(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		if len(tok) != Size || !strings.HasPrefix(tok, Prefix) || !WellFormed([]byte(tok)) {
			t.Fatalf("token %d bytes, well-formed %v", len(tok), WellFormed([]byte(tok)))
		}
		if seen[tok] {
			t.Fatal("the same token twice")
		}
		seen[tok] = true
	}
}

func TestNewFailsWithoutRandomness(t *testing.T) {
	if _, err := New(bytes.NewReader(make([]byte, 31))); err == nil {
		t.Fatal("a token from 31 random bytes")
	}
}

// TestMalformedTokensAreNotWellFormed: the shapes an attacker or a typo
// sends are refused before any lookup matters.
func TestMalformedTokensAreNotWellFormed(t *testing.T) {
	good, _ := New(rand.Reader)
	for name, tok := range map[string]string{
		"empty":             "",
		"prefix-only":       Prefix,
		"wrong-prefix":      "adx_" + good[4:],
		"upper-prefix":      "ADT_" + good[4:],
		"one-short":         good[:Size-1],
		"one-long":          good + "A",
		"padding":           good[:Size-1] + "=",
		"std-alphabet":      good[:Size-1] + "+",
		"non-canonical-end": Prefix + strings.Repeat("A", 42) + "B", // 43 chars hold 258 bits: the last 2 must be 0
		"nul":               good[:Size-1] + "\x00",
	} {
		if WellFormed([]byte(tok)) {
			t.Errorf("%s: %q is well-formed", name, tok)
		}
	}
}

func TestMACIsHMACWithLabel(t *testing.T) {
	key := bytes.Repeat([]byte{7}, KeyBytes)
	tok := []byte("adt_x")
	got, err := MAC(key, tok)
	if err != nil {
		t.Fatal(err)
	}
	m := hmac.New(sha256.New, key)
	m.Write([]byte("attestd debug token v1\x00adt_x"))
	if !bytes.Equal(got[:], m.Sum(nil)) {
		t.Fatal("MAC is not HMAC-SHA256(key, label ‖ token)")
	}
	other, _ := MAC(bytes.Repeat([]byte{8}, KeyBytes), tok)
	if other == got {
		t.Fatal("two keys give the same MAC")
	}
	if _, err := MAC(key[:31], tok); !errors.Is(err, ErrKey) {
		t.Fatalf("31-byte key: %v", err)
	}
}

// FuzzWellFormed: WellFormed never panics, and accepts exactly what New
// could have made.
func FuzzWellFormed(f *testing.F) {
	good, _ := New(rand.Reader)
	for _, s := range []string{good, "", Prefix, "adt_" + strings.Repeat("A", 43), "adt_" + strings.Repeat("_", 43),
		"adt_" + strings.Repeat("A", 42) + "=", strings.Repeat("\xff", Size)} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, tok []byte) {
		got := WellFormed(tok)
		want := len(tok) == Size && bytes.HasPrefix(tok, []byte(Prefix))
		if want {
			raw := make([]byte, 33)
			n, err := b64Strict.Decode(raw, tok[len(Prefix):])
			want = err == nil && n == 32 && b64Strict.EncodeToString(raw[:32]) == string(tok[len(Prefix):])
		}
		if got != want {
			t.Fatalf("WellFormed(%q) = %v, want %v", tok, got, want)
		}
	})
}
