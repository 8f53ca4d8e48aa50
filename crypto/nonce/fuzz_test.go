package nonce

import (
	"bytes"
	"encoding/base64"
	"errors"
	"testing"
	"time"

	"github.com/attestd/attestd/crypto/secret"
)

// fuzzKeyring is the keyring the committed corpus in testdata/fuzz/FuzzCheck
// was minted with: key ids "k1" and "old", keys testKey(1) and testKey(2),
// at t0 with a 60 s ttl.
func fuzzKeyring(t testing.TB) *Keyring {
	return newKeyring(t, "k1", map[string]secret.Value{"k1": testKey(1), "old": testKey(2)})
}

// FuzzCheck feeds arbitrary bytes to Check. Check must not panic, must answer
// with one of its sentinels, and must accept only the canonical spelling of
// a nonce that Issue could have made.
func FuzzCheck(f *testing.F) {
	kr := fuzzKeyring(f)
	n, _, err := kr.Issue(nil, t0, time.Minute, fixedRand(0x5a))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(n)
	f.Add([]byte("v1.k1."))
	f.Fuzz(func(t *testing.T, in []byte) {
		p, err := kr.Check(in, t0)
		switch {
		case err == nil:
		case errors.Is(err, ErrMalformed), errors.Is(err, ErrUnknownKey), errors.Is(err, ErrBadMAC), errors.Is(err, ErrExpired):
			if p != (Parsed{}) {
				t.Fatalf("Parsed %+v returned with error %v", p, err)
			}
			return
		default:
			t.Fatalf("Check(%q) = unexpected error %v", in, err)
		}
		// Accepted: it must be exactly what Issue writes.
		if len(in) < MinLen || len(in) > MaxLen {
			t.Fatalf("accepted a nonce of length %d", len(in))
		}
		prefix := "v1." + p.KeyID + "."
		if !bytes.HasPrefix(in, []byte(prefix)) {
			t.Fatalf("accepted %q, whose prefix is not %q", in, prefix)
		}
		raw, derr := base64.RawURLEncoding.DecodeString(string(in[len(prefix):]))
		if derr != nil || base64.RawURLEncoding.EncodeToString(raw) != string(in[len(prefix):]) {
			t.Fatalf("accepted a non-canonical body %q", in)
		}
		if !bytes.Equal(p.ID[:], raw[signedLen:signedLen+IDSize]) || p.ExpiresAt <= t0.Unix() {
			t.Fatalf("accepted %q with inconsistent %+v", in, p)
		}
	})
}
