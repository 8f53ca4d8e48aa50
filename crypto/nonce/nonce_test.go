package nonce

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/attestd/attestd/crypto/secret"
)

// t0 is a fixed clock reading; tests move time explicitly.
var t0 = time.Unix(1_900_000_000, 250_000_000)

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

// fixedRand returns a reader yielding 16 bytes of b repeated.
func fixedRand(b byte) io.Reader { return bytes.NewReader(bytes.Repeat([]byte{b}, randLen)) }

func issue(t testing.TB, kr *Keyring, now time.Time, ttl time.Duration) ([]byte, int64) {
	t.Helper()
	n, exp, err := kr.Issue(nil, now, ttl, nil)
	if err != nil {
		t.Fatalf("Issue: %v", err)
	}
	return n, exp
}

func TestRoundTrip(t *testing.T) {
	kr := newKeyring(t, "k1", map[string]secret.Value{"k1": testKey(1)})
	n, exp := issue(t, kr, t0, 60*time.Second)
	if want := t0.Unix() + 60; exp != want {
		t.Errorf("expiresAt = %d, want %d", exp, want)
	}
	if len(n) > 128 || len(n) < MinLen || len(n) > MaxLen {
		t.Errorf("len = %d, want within [%d, %d] and ≤ 128", len(n), MinLen, MaxLen)
	}
	for _, c := range n {
		if c < 0x21 || c > 0x7e {
			t.Fatalf("nonce %q has a non-printable byte %#x", n, c)
		}
	}
	if !bytes.HasPrefix(n, []byte("v1.k1.")) {
		t.Errorf("nonce %q lacks the version and key id", n)
	}
	p, err := kr.Check(n, t0)
	if err != nil {
		t.Fatalf("Check: %v", err)
	}
	if p.ExpiresAt != exp || p.KeyID != "k1" {
		t.Errorf("Parsed = %+v, want ExpiresAt %d KeyID k1", p, exp)
	}
	if p.ID == ([IDSize]byte{}) {
		t.Error("Parsed.ID is zero")
	}
	p2, err := kr.Check(n, t0.Add(59*time.Second))
	if err != nil || p2 != p {
		t.Errorf("second Check = %+v, %v; want %+v (Check is stateless)", p2, err, p)
	}
}

func TestIssueAppendsToDst(t *testing.T) {
	kr := newKeyring(t, "k1", map[string]secret.Value{"k1": testKey(1)})
	dst := []byte(`{"nonce":"`)
	out, _, err := kr.Issue(dst, t0, time.Minute, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(out, dst) {
		t.Fatalf("Issue did not append to dst: %q", out)
	}
	if _, err := kr.Check(out[len(dst):], t0); err != nil {
		t.Errorf("Check of appended nonce: %v", err)
	}
}

// TestWireFormat pins the documented layout, so that a change of format
// cannot pass unnoticed: every node of a deployment must agree on it.
func TestWireFormat(t *testing.T) {
	key := testKey(7)
	kr := newKeyring(t, "rot-2024_a", map[string]secret.Value{"rot-2024_a": key})
	n, exp, err := kr.Issue(nil, t0, 45*time.Second, fixedRand(0xab))
	if err != nil {
		t.Fatal(err)
	}
	prefix := "v1.rot-2024_a."
	body := make([]byte, bodyLen)
	binary.BigEndian.PutUint64(body, uint64(exp))
	copy(body[expLen:], bytes.Repeat([]byte{0xab}, randLen))
	m := hmac.New(sha256.New, key.Reveal())
	m.Write([]byte(prefix))
	m.Write(body[:signedLen])
	copy(body[signedLen:], m.Sum(nil)[:tagLen])
	want := prefix + base64.RawURLEncoding.EncodeToString(body)
	if string(n) != want {
		t.Fatalf("nonce = %q\nwant    %q", n, want)
	}
	p, err := kr.Check(n, t0)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(p.ID[:], body[signedLen:signedLen+IDSize]) {
		t.Errorf("ID = %x, want the first %d bytes of the tag", p.ID, IDSize)
	}
}

func TestCheckErrors(t *testing.T) {
	kr := newKeyring(t, "k1", map[string]secret.Value{"k1": testKey(1)})
	other := newKeyring(t, "k1", map[string]secret.Value{"k1": testKey(2)})
	stranger := newKeyring(t, "k9", map[string]secret.Value{"k9": testKey(1)})
	good, exp := issue(t, kr, t0, time.Minute)
	forged, _ := issue(t, other, t0, time.Minute)
	unknown, _ := issue(t, stranger, t0, time.Minute)
	body := string(good[len("v1.k1."):])

	for _, tc := range []struct {
		name  string
		nonce string
		now   time.Time
		want  error
	}{
		{"fail/empty", "", t0, ErrMalformed},
		{"fail/too-short", string(good[:MinLen-1]), t0, ErrMalformed},
		{"fail/too-long", "v1.k1." + body + strings.Repeat("A", 129), t0, ErrMalformed},
		{"fail/kid-too-long", "v1." + strings.Repeat("k", MaxKeyIDLen+1) + "." + body, t0, ErrMalformed},
		{"fail/version", "v2.k1." + body, t0, ErrMalformed},
		{"fail/no-separator", "v1.k1_" + body, t0, ErrMalformed},
		{"fail/empty-kid", "v1.." + body + "A", t0, ErrMalformed},
		{"fail/kid-char", "v1.k!." + body, t0, ErrMalformed},
		{"fail/body-char", "v1.k1." + body[:63] + "=", t0, ErrMalformed},
		{"fail/body-newline", "v1.k1." + body[:32] + "\n" + body[33:], t0, ErrMalformed},
		{"fail/body-short", "v1.k1." + body[:63], t0, ErrMalformed},
		{"fail/unknown-key", string(unknown), t0, ErrUnknownKey},
		{"fail/bad-mac", string(forged), t0, ErrBadMAC},
		{"fail/bad-mac-even-when-expired", string(forged), t0.Add(time.Hour), ErrBadMAC},
		{"fail/expired", string(good), time.Unix(exp, 0), ErrExpired},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := kr.Check([]byte(tc.nonce), tc.now)
			if !errors.Is(err, tc.want) {
				t.Fatalf("Check(%q) = %v, want %v", tc.nonce, err, tc.want)
			}
			if p != (Parsed{}) {
				t.Errorf("Parsed = %+v on error, want zero", p)
			}
		})
	}
}

// TestTamperEveryByte replaces each byte of a good nonce with every other
// byte value: each variant must be refused, and never as merely expired.
func TestTamperEveryByte(t *testing.T) {
	kr := newKeyring(t, "k1", map[string]secret.Value{"k1": testKey(1), "k2": testKey(3)})
	n, _ := issue(t, kr, t0, time.Minute)
	buf := make([]byte, len(n))
	for i := range n {
		for v := 0; v < 256; v++ {
			if byte(v) == n[i] {
				continue
			}
			copy(buf, n)
			buf[i] = byte(v)
			_, err := kr.Check(buf, t0)
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrUnknownKey) && !errors.Is(err, ErrBadMAC) {
				t.Fatalf("byte %d set to %#x: Check = %v, want malformed, unknown key or bad MAC", i, v, err)
			}
		}
	}
}

func TestExpiryBoundary(t *testing.T) {
	kr := newKeyring(t, "k1", map[string]secret.Value{"k1": testKey(1)})
	n, exp := issue(t, kr, t0, 10*time.Second)
	at := time.Unix(exp, 0)
	for _, tc := range []struct {
		name string
		now  time.Time
		want error
	}{
		{"ok/issued", t0, nil},
		{"ok/last-nanosecond", at.Add(-time.Nanosecond), nil},
		{"fail/at-expires_at", at, ErrExpired},
		{"fail/after", at.Add(time.Second), ErrExpired},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := kr.Check(n, tc.now); !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
				t.Errorf("Check at %v = %v, want %v", tc.now, err, tc.want)
			}
		})
	}
}

func TestRotation(t *testing.T) {
	oldK, newK := testKey(1), testKey(9)
	before := newKeyring(t, "old", map[string]secret.Value{"old": oldK})
	during := newKeyring(t, "new", map[string]secret.Value{"old": oldK, "new": newK})
	after := newKeyring(t, "new", map[string]secret.Value{"new": newK})

	oldNonce, _ := issue(t, before, t0, time.Minute)
	newNonce, _ := issue(t, during, t0, time.Minute)
	if !bytes.HasPrefix(newNonce, []byte("v1.new.")) {
		t.Fatalf("during rotation the active key must mint: %q", newNonce)
	}
	if _, err := during.Check(oldNonce, t0); err != nil {
		t.Errorf("old key still listed: Check = %v, want nil", err)
	}
	if _, err := before.Check(newNonce, t0); !errors.Is(err, ErrUnknownKey) {
		t.Errorf("node without the new key: Check = %v, want ErrUnknownKey", err)
	}
	if _, err := after.Check(oldNonce, t0); !errors.Is(err, ErrUnknownKey) {
		t.Errorf("old key removed: Check = %v, want ErrUnknownKey", err)
	}
	if _, err := after.Check(newNonce, t0); err != nil {
		t.Errorf("new key: Check = %v, want nil", err)
	}
}

func TestTwoNodes(t *testing.T) {
	keys := map[string]secret.Value{"a": testKey(1), "b": testKey(2)}
	nodeA, nodeB := newKeyring(t, "a", keys), newKeyring(t, "a", keys)
	fromA, _ := issue(t, nodeA, t0, time.Minute)
	fromB, _ := issue(t, nodeB, t0, time.Minute)
	pA, errA := nodeB.Check(fromA, t0)
	pB, errB := nodeA.Check(fromB, t0)
	if errA != nil || errB != nil {
		t.Fatalf("cross-node Check: %v, %v", errA, errB)
	}
	if pA.ID == pB.ID {
		t.Error("two nonces share an ID")
	}
}

func TestIDsAreDistinct(t *testing.T) {
	kr := newKeyring(t, "k1", map[string]secret.Value{"k1": testKey(1)})
	seen := make(map[[IDSize]byte]bool)
	for range 2000 {
		n, _ := issue(t, kr, t0, time.Minute)
		p, err := kr.Check(n, t0)
		if err != nil {
			t.Fatal(err)
		}
		if seen[p.ID] {
			t.Fatalf("duplicate ID %x", p.ID)
		}
		seen[p.ID] = true
	}
}

func TestNewKeyringErrors(t *testing.T) {
	for _, tc := range []struct {
		name   string
		active string
		keys   map[string]secret.Value
	}{
		{"fail/no-keys", "k1", nil},
		{"fail/active-missing", "k2", map[string]secret.Value{"k1": testKey(1)}},
		{"fail/short-key", "k1", map[string]secret.Value{"k1": secret.New(make([]byte, 31))}},
		{"fail/long-key", "k1", map[string]secret.Value{"k1": secret.New(make([]byte, 33))}},
		{"fail/empty-id", "", map[string]secret.Value{"": testKey(1)}},
		{"fail/id-too-long", strings.Repeat("a", 17), map[string]secret.Value{strings.Repeat("a", 17): testKey(1)}},
		{"fail/id-dot", "a.b", map[string]secret.Value{"a.b": testKey(1)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := NewKeyring(tc.active, tc.keys); !errors.Is(err, ErrConfig) {
				t.Errorf("NewKeyring = %v, want ErrConfig", err)
			}
		})
	}
	// The keyring keeps its own copy of each key.
	raw := make([]byte, KeySize)
	v := secret.New(raw)
	kr := newKeyring(t, "k", map[string]secret.Value{"k": v})
	n, _ := issue(t, kr, t0, time.Minute)
	v.Reveal()[0] ^= 1
	if _, err := kr.Check(n, t0); err != nil {
		t.Errorf("after the caller's key bytes changed: %v", err)
	}
}

func TestIssueErrors(t *testing.T) {
	kr := newKeyring(t, "k1", map[string]secret.Value{"k1": testKey(1)})
	for _, ttl := range []time.Duration{0, -time.Second, time.Second - 1, MaxTTL + time.Second} {
		if _, _, err := kr.Issue(nil, t0, ttl, nil); !errors.Is(err, ErrConfig) {
			t.Errorf("Issue(ttl %v) = %v, want ErrConfig", ttl, err)
		}
	}
	short := bytes.NewReader(make([]byte, randLen-1))
	if _, _, err := kr.Issue(nil, t0, time.Minute, short); !errors.Is(err, ErrRandom) {
		t.Errorf("Issue with a failing reader = %v, want ErrRandom", err)
	}
}

func TestAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("sync.Pool drops items under the race detector")
	}
	kr := newKeyring(t, "k1", map[string]secret.Value{"k1": testKey(1)})
	dst := make([]byte, 0, MaxLen)
	n, _ := issue(t, kr, t0, time.Minute)
	if a := testing.AllocsPerRun(200, func() { _, _, _ = kr.Issue(dst[:0], t0, time.Minute, nil) }); a > 0 {
		t.Errorf("Issue with room in dst: %v allocs, want 0", a)
	}
	if a := testing.AllocsPerRun(200, func() { _, _, _ = kr.Issue(nil, t0, time.Minute, nil) }); a > 1 {
		t.Errorf("Issue with nil dst: %v allocs, want ≤ 1", a)
	}
	if a := testing.AllocsPerRun(200, func() { _, _ = kr.Check(n, t0) }); a > 0 {
		t.Errorf("Check: %v allocs, want 0", a)
	}
	bad := bytes.Clone(n)
	bad[len(bad)-1] ^= 1
	if a := testing.AllocsPerRun(200, func() { _, _ = kr.Check(bad, t0) }); a > 0 {
		t.Errorf("Check of a bad nonce: %v allocs, want 0", a)
	}
}

// TestConcurrent shares one keyring between goroutines (run with -race):
// the pooled MAC states must never mix two calls.
func TestConcurrent(t *testing.T) {
	kr := newKeyring(t, "k1", map[string]secret.Value{"k1": testKey(1), "k2": testKey(2)})
	other := newKeyring(t, "k2", map[string]secret.Value{"k1": testKey(1), "k2": testKey(2)})
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			issuer := kr
			if g%2 == 1 {
				issuer = other
			}
			dst := make([]byte, 0, MaxLen)
			for range 500 {
				n, exp, err := issuer.Issue(dst[:0], t0, time.Minute, nil)
				if err != nil {
					t.Error(err)
					return
				}
				if p, err := kr.Check(n, t0); err != nil || p.ExpiresAt != exp {
					t.Errorf("Check = %+v, %v", p, err)
					return
				}
			}
		})
	}
	wg.Wait()
}
