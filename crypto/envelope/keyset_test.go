package envelope

import (
	"bytes"
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestKeyID(t *testing.T) {
	kr, err := ParseKeyFile([]byte(keyLine("m7", 1) + "\n"))
	if err != nil {
		t.Fatal(err)
	}
	s, _ := kr.Seal([]byte("v"), "n")
	if kid, ok := KeyID(s); !ok || kid != "m7" {
		t.Fatalf("KeyID(sealed) = %q, %v", kid, ok)
	}
	for _, bad := range []string{"", "v1:", "v1:m7:", "v2:m7:AAAA", "v1:bad id:AAAA", "v1:m7:AA=A", "plain text", strings.Repeat("A", MaxSealedLen+1)} {
		if kid, ok := KeyID(bad); ok {
			t.Errorf("KeyID(%.20q) = %q, true", bad, kid)
		}
	}
}

// TestKeySetRotation walks a rotation: add (opens only), activate (seals),
// remove the old key; at each step the file round-trips and the keyring
// opens what it should.
func TestKeySetRotation(t *testing.T) {
	ks, err := ParseKeySet([]byte("# mine\n" + keyLine("m1", 1) + "\n"))
	if err != nil {
		t.Fatal(err)
	}
	old, _ := ks.Keyring()
	sealedOld, _ := old.Seal([]byte("secret"), "n")

	if err := ks.Add("m2", bytes.NewReader(testKey(9).Reveal())); err != nil {
		t.Fatal(err)
	}
	if ks.Active() != "m1" || !slices.Equal(ks.IDs(), []string{"m1", "m2"}) {
		t.Fatalf("after add: active %s ids %v", ks.Active(), ks.IDs())
	}
	if err := ks.Add("m2", nil); !errors.Is(err, ErrConfig) {
		t.Errorf("add twice: %v", err)
	}
	if err := ks.Add("bad:id", nil); !errors.Is(err, ErrConfig) {
		t.Errorf("add bad id: %v", err)
	}
	if err := ks.Activate("m3"); !errors.Is(err, ErrUnknownKey) {
		t.Errorf("activate unlisted: %v", err)
	}
	if err := ks.Activate("m2"); err != nil {
		t.Fatal(err)
	}
	if err := ks.Remove("m2"); !errors.Is(err, ErrConfig) {
		t.Errorf("remove active: %v", err)
	}
	file := ks.Marshal()
	if !strings.HasPrefix(string(file), keyFileHeader) || !strings.HasSuffix(string(file), keyLine("m2", 9)+"\n"+keyLine("m1", 1)+"\n") {
		t.Fatalf("marshal:\n%s", file)
	}
	both, err := ParseKeyFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if both.ActiveKeyID() != "m2" {
		t.Fatalf("active after activate = %s", both.ActiveKeyID())
	}
	if v, err := both.Open(sealedOld, "n"); err != nil || string(v.Reveal()) != "secret" {
		t.Fatalf("old value under both keys: %v", err)
	}
	sealedNew, _ := both.Seal([]byte("secret"), "n")
	if kid, _ := KeyID(sealedNew); kid != "m2" {
		t.Fatalf("sealed under %s", kid)
	}
	if err := ks.Remove("m1"); err != nil {
		t.Fatal(err)
	}
	if err := ks.Remove("m1"); !errors.Is(err, ErrUnknownKey) {
		t.Errorf("remove twice: %v", err)
	}
	only, err := ParseKeyFile(ks.Marshal())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := only.Open(sealedOld, "n"); !errors.Is(err, ErrUnknownKey) {
		t.Errorf("retired key still opens: %v", err)
	}
	if _, err := only.Open(sealedNew, "n"); err != nil {
		t.Errorf("new key: %v", err)
	}
}

func TestKeySetParseErrorsAsParseKeyFile(t *testing.T) {
	for _, in := range []string{"", "# only a comment\n", "m1:short\n", keyLine("m1", 1) + "\n" + keyLine("m1", 2) + "\n"} {
		_, e1 := ParseKeySet([]byte(in))
		_, e2 := ParseKeyFile([]byte(in))
		if e1 == nil || e2 == nil || e1.Error() != e2.Error() {
			t.Errorf("%q: ParseKeySet %v, ParseKeyFile %v", in, e1, e2)
		}
	}
	var zero KeySet
	if zero.Active() != "" || len(zero.IDs()) != 0 {
		t.Error("zero KeySet not empty")
	}
	if _, err := zero.Keyring(); !errors.Is(err, ErrMalformed) {
		t.Errorf("zero keyring: %v", err)
	}
	if err := zero.Add("m1", bytes.NewReader(make([]byte, 2))); err == nil {
		t.Error("add with a short random source succeeded")
	}
}
