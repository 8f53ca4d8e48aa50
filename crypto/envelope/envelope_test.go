package envelope

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/attestd/attestd/crypto/secret"
)

func testKey(seed byte) secret.Value {
	b := make([]byte, KeySize)
	for i := range b {
		b[i] = seed + byte(i)
	}
	return secret.New(b)
}

func newKeyring(t testing.TB, active string, keys map[string]secret.Value) *Keyring {
	t.Helper()
	kr, err := NewKeyring(active, keys)
	if err != nil {
		t.Fatalf("NewKeyring: %v", err)
	}
	return kr
}

func seal(t testing.TB, kr *Keyring, pt, name string) string {
	t.Helper()
	s, err := kr.Seal([]byte(pt), name)
	if err != nil {
		t.Fatalf("Seal: %v", err)
	}
	return s
}

func TestRoundTrip(t *testing.T) {
	kr := newKeyring(t, "m1", map[string]secret.Value{"m1": testKey(1)})
	for _, pt := range []string{"", "x", "hunter2", strings.Repeat("\x00\xff", 5000)} {
		name := "accounts/acme/keys/k1"
		s := seal(t, kr, pt, name)
		if !strings.HasPrefix(s, "v1:m1:") {
			t.Errorf("sealed %q lacks the v1:m1: prefix", s)
		}
		for _, c := range []byte(s) {
			if c < 0x21 || c > 0x7e {
				t.Fatalf("sealed value has a non-printable byte %#x", c)
			}
		}
		if len(pt) >= 7 && strings.Contains(s, pt) {
			t.Errorf("sealed value shows its plaintext")
		}
		v, err := kr.Open(s, name)
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		if string(v.Reveal()) != pt {
			t.Errorf("Open = %d bytes, want %d", v.Len(), len(pt))
		}
	}
	a, b := seal(t, kr, "same", "n"), seal(t, kr, "same", "n")
	if a == b {
		t.Error("two seals of one value are equal: the nonce is not random")
	}
}

// TestWireFormat opens by hand what Seal wrote, as the documentation
// describes it: b64u(nonce || ciphertext || tag) with AAD "v1:" KID ":" NAME.
func TestWireFormat(t *testing.T) {
	key := testKey(3)
	kr := newKeyring(t, "m1", map[string]secret.Value{"m1": key})
	s := seal(t, kr, "payload", "apps/x")
	raw, err := base64.RawURLEncoding.DecodeString(strings.TrimPrefix(s, "v1:m1:"))
	if err != nil {
		t.Fatal(err)
	}
	block, _ := aes.NewCipher(key.Reveal())
	gcm, _ := cipher.NewGCM(block)
	pt, err := gcm.Open(nil, raw[:12], raw[12:], []byte("v1:m1:apps/x"))
	if err != nil || string(pt) != "payload" {
		t.Fatalf("open by hand = %q, %v", pt, err)
	}
}

func TestNameBinding(t *testing.T) {
	kr := newKeyring(t, "m1", map[string]secret.Value{"m1": testKey(1)})
	s := seal(t, kr, "secret", "accounts/acme/keys/k1")
	for _, other := range []string{"accounts/acme/keys/k2", "accounts/evil/keys/k1", "", "accounts/acme/keys/k1 "} {
		if _, err := kr.Open(s, other); !errors.Is(err, ErrDecrypt) {
			t.Errorf("Open under %q = %v, want ErrDecrypt", other, err)
		}
	}
}

func TestOpenErrors(t *testing.T) {
	kr := newKeyring(t, "m1", map[string]secret.Value{"m1": testKey(1), "m0": testKey(2)})
	otherKey := newKeyring(t, "m1", map[string]secret.Value{"m1": testKey(9)})
	good := seal(t, kr, "v", "n")
	body := strings.TrimPrefix(good, "v1:m1:")
	flipped := []byte(body)
	// Another base64url character: the body still decodes, the tag fails.
	if flipped[20] == 'A' {
		flipped[20] = 'B'
	} else {
		flipped[20] = 'A'
	}
	for _, tc := range []struct {
		name, sealed string
		want         error
	}{
		{"fail/empty", "", ErrMalformed},
		{"fail/no-version", "m1:" + body, ErrMalformed},
		{"fail/version-2", "v2:m1:" + body, ErrMalformed},
		{"fail/no-body", "v1:m1:", ErrMalformed},
		{"fail/no-kid", "v1::" + body, ErrMalformed},
		{"fail/kid-char", "v1:m.1:" + body, ErrMalformed},
		{"fail/padding", good + "=", ErrMalformed},
		{"fail/std-alphabet", "v1:m1:" + body[:10] + "+" + body[11:], ErrMalformed},
		{"fail/newline", "v1:m1:" + body[:10] + "\n" + body[10:], ErrMalformed},
		{"fail/short", "v1:m1:" + body[:36], ErrMalformed},
		{"fail/too-long", "v1:m1:" + strings.Repeat("A", MaxSealedLen), ErrTooLarge},
		{"fail/unknown-key", "v1:m9:" + body, ErrUnknownKey},
		{"fail/other-key-same-id", seal(t, otherKey, "v", "n"), ErrDecrypt},
		{"fail/wrong-kid", "v1:m0:" + body, ErrDecrypt},
		{"fail/tampered", "v1:m1:" + string(flipped), ErrDecrypt},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v, err := kr.Open(tc.sealed, "n")
			if !errors.Is(err, tc.want) {
				t.Fatalf("Open = %v, want %v", err, tc.want)
			}
			if !v.IsZero() {
				t.Error("a value came back with an error")
			}
		})
	}
}

func TestRotation(t *testing.T) {
	oldK, newK := testKey(1), testKey(50)
	before := newKeyring(t, "old", map[string]secret.Value{"old": oldK})
	during := newKeyring(t, "new", map[string]secret.Value{"old": oldK, "new": newK})
	after := newKeyring(t, "new", map[string]secret.Value{"new": newK})
	s := seal(t, before, "v", "n")
	if _, err := during.Open(s, "n"); err != nil {
		t.Errorf("old key still listed: %v", err)
	}
	if s2 := seal(t, during, "v", "n"); !strings.HasPrefix(s2, "v1:new:") {
		t.Errorf("during rotation sealed with %q, want the new key", s2[:8])
	}
	if _, err := after.Open(s, "n"); !errors.Is(err, ErrUnknownKey) {
		t.Errorf("old key removed: %v, want ErrUnknownKey", err)
	}
}

func TestSealTooLarge(t *testing.T) {
	kr := newKeyring(t, "m1", map[string]secret.Value{"m1": testKey(1)})
	if _, err := kr.Seal(make([]byte, MaxPlaintext+1), "n"); !errors.Is(err, ErrTooLarge) {
		t.Errorf("Seal(MaxPlaintext+1) = %v, want ErrTooLarge", err)
	}
	s, err := kr.Seal(make([]byte, MaxPlaintext), "n")
	if err != nil {
		t.Fatalf("Seal(MaxPlaintext): %v", err)
	}
	if len(s) > MaxSealedLen {
		t.Fatalf("a sealed MaxPlaintext is %d bytes, over MaxSealedLen %d", len(s), MaxSealedLen)
	}
	// The longest key id as well.
	long := strings.Repeat("k", MaxKeyIDLen)
	kr2 := newKeyring(t, long, map[string]secret.Value{long: testKey(1)})
	s, err = kr2.Seal(make([]byte, MaxPlaintext), "n")
	if err != nil || len(s) > MaxSealedLen {
		t.Fatalf("longest sealed value: %d bytes (max %d), %v", len(s), MaxSealedLen, err)
	}
	if _, err := kr2.Open(s, "n"); err != nil {
		t.Errorf("Open of the longest sealed value: %v", err)
	}
}

func TestNewKeyringErrors(t *testing.T) {
	for _, tc := range []struct {
		name   string
		active string
		keys   map[string]secret.Value
	}{
		{"fail/no-keys", "m1", nil},
		{"fail/active-missing", "m2", map[string]secret.Value{"m1": testKey(1)}},
		{"fail/aes-128-key", "m1", map[string]secret.Value{"m1": secret.New(make([]byte, 16))}},
		{"fail/long-key", "m1", map[string]secret.Value{"m1": secret.New(make([]byte, 33))}},
		{"fail/empty-id", "", map[string]secret.Value{"": testKey(1)}},
		{"fail/id-colon", "a:b", map[string]secret.Value{"a:b": testKey(1)}},
		{"fail/id-too-long", strings.Repeat("a", 33), map[string]secret.Value{strings.Repeat("a", 33): testKey(1)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := NewKeyring(tc.active, tc.keys); !errors.Is(err, ErrConfig) {
				t.Errorf("NewKeyring = %v, want ErrConfig", err)
			}
		})
	}
}

func TestErrorsHoldNoSecrets(t *testing.T) {
	kr := newKeyring(t, "m1", map[string]secret.Value{"m1": testKey(1)})
	s := seal(t, kr, "topsecretvalue", "n")
	_, err := kr.Open(s, "other")
	body := strings.TrimPrefix(s, "v1:m1:")
	if msg := fmt.Sprint(err); strings.Contains(msg, "topsecretvalue") || strings.Contains(msg, body) {
		t.Errorf("error %q shows the value", msg)
	}
	v, _ := kr.Open(s, "n")
	if got := fmt.Sprintf("%v %s %+v", v, v, v); strings.Contains(got, "topsecretvalue") {
		t.Errorf("opened value prints as %q", got)
	}
	if !bytes.Equal(v.Reveal(), []byte("topsecretvalue")) {
		t.Error("Reveal lost the value")
	}
}

func TestConcurrent(t *testing.T) {
	kr := newKeyring(t, "m1", map[string]secret.Value{"m1": testKey(1)})
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 200 {
				name := fmt.Sprintf("apps/%d/%d", g, i)
				s, err := kr.Seal([]byte(name), name)
				if err != nil {
					t.Error(err)
					return
				}
				if v, err := kr.Open(s, name); err != nil || string(v.Reveal()) != name {
					t.Errorf("Open = %v", err)
					return
				}
			}
		})
	}
	wg.Wait()
}
