package devicekey

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/asn1"
	"encoding/base64"
	"errors"
	"math/big"
	"strings"
	"testing"
)

// sign returns the Attest-Signature value for body, as an SDK makes it.
func sign(t testing.TB, priv *ecdsa.PrivateKey, body []byte) []byte {
	t.Helper()
	h := sha256.Sum256(body)
	der, err := ecdsa.SignASN1(rand.Reader, priv, h[:])
	if err != nil {
		t.Fatal(err)
	}
	return []byte(base64.RawURLEncoding.EncodeToString(der))
}

func TestVerifySignature(t *testing.T) {
	priv, other := genKey(t), genKey(t)
	k := mustParse(t, pointOf(t, priv))
	body := []byte(`{"nonce":"n","app":{"id":"com.example.shop"}}`)
	// A signature whose encoding has spare bits (DER of 70 or 71 bytes),
	// so that the non-canonical case below means something.
	sig := sign(t, priv, body)
	for len(sig)%4 == 0 {
		sig = sign(t, priv, body)
	}
	if err := VerifySignature(k, body, sig); err != nil {
		t.Fatalf("valid signature: %v", err)
	}
	if err := VerifySignature(k, nil, sign(t, priv, nil)); err != nil {
		t.Fatalf("valid signature over an empty body: %v", err)
	}

	der, _ := base64.RawURLEncoding.DecodeString(string(sig))
	var rs struct{ R, S *big.Int }
	if _, err := asn1.Unmarshal(der, &rs); err != nil {
		t.Fatal(err)
	}
	rawRS := append(rs.R.FillBytes(make([]byte, 32)), rs.S.FillBytes(make([]byte, 32))...)
	highS, _ := asn1.Marshal(struct{ R, S *big.Int }{rs.R, new(big.Int).Sub(elliptic.P256().Params().N, rs.S)})
	enc := base64.RawURLEncoding.EncodeToString
	s := string(sig)
	tamperedBody := bytes.Clone(body)
	tamperedBody[3] ^= 1
	// The same bytes spelt with a spare bit set in the last character: a
	// lenient decoder reads the same DER, so only the spelling rule refuses.
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	nonCanonical := []byte(s)
	nonCanonical[len(s)-1] = alphabet[strings.IndexByte(alphabet, s[len(s)-1])|1]
	if lenient, err := base64.RawURLEncoding.DecodeString(string(nonCanonical)); err != nil || !bytes.Equal(lenient, der) {
		t.Fatalf("test setup: %q does not decode leniently to the same DER", nonCanonical)
	}
	for _, tc := range []struct {
		name string
		key  Key
		body []byte
		sig  string
		ok   bool
	}{
		{"ok/valid", k, body, s, true},
		{"ok/high-s", k, body, enc(highS), true}, // ECDSA is malleable; the nonce makes it single-use
		{"fail/missing", k, body, "", false},
		{"fail/other-body", k, tamperedBody, s, false},
		{"fail/body-plus-newline", k, append(bytes.Clone(body), '\n'), s, false},
		{"fail/other-key", mustParse(t, pointOf(t, other)), body, s, false},
		{"fail/zero-key", Key{}, body, s, false},
		{"fail/padded", k, body, enc(der) + strings.Repeat("=", (4-len(s)%4)%4) + "==", false},
		{"fail/std-alphabet", k, body, base64.RawStdEncoding.EncodeToString(der) + "+/", false},
		{"fail/whitespace", k, body, s[:10] + "\n" + s[10:], false},
		{"fail/space", k, body, " " + s, false},
		{"fail/over-100-chars", k, body, s + strings.Repeat("A", MaxSignatureLen+1-len(s)), false},
		{"fail/raw-r-s", k, body, enc(rawRS), false},
		{"fail/der-trailing-byte", k, body, enc(append(bytes.Clone(der), 0)), false},
		{"fail/not-der", k, body, enc([]byte("hello, signature")), false},
		{"fail/one-char", k, body, "A", false},
		{"fail/non-canonical", k, body, string(nonCanonical), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := VerifySignature(tc.key, tc.body, []byte(tc.sig))
			if tc.ok != (err == nil) || (err != nil && !errors.Is(err, ErrSignature)) {
				t.Fatalf("VerifySignature = %v, want ok=%v or ErrSignature", err, tc.ok)
			}
		})
	}
}

// TestCanonicalTail pins decodeSignature's spelling rule against the
// standard library's strict decoder over every possible last character.
func TestCanonicalTail(t *testing.T) {
	strict := base64.RawURLEncoding.Strict()
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	for _, prefix := range []string{"MEUC", "MEUCI", "MEUCIQ"} {
		for i := range len(alphabet) {
			in := []byte(prefix + alphabet[i:i+1])
			if len(in)%4 == 1 {
				continue
			}
			_, wantErr := strict.DecodeString(string(in))
			if got := canonicalTail(in); got != (wantErr == nil) {
				t.Errorf("canonicalTail(%q) = %v, strict decoder err = %v", in, got, wantErr)
			}
		}
	}
}

func TestVerifySignatureAllocs(t *testing.T) {
	priv := genKey(t)
	k := mustParse(t, pointOf(t, priv))
	body := []byte("{}")
	sig := sign(t, priv, body)
	// What allocates is the standard library's verification itself, plus
	// one buffer for the decoded DER (it escapes into VerifyASN1). Budget
	// it, so that a change here that adds garbage shows.
	der, _ := base64.RawURLEncoding.DecodeString(string(sig))
	base := testing.AllocsPerRun(20, func() {
		h := sha256.Sum256(body)
		ecdsa.VerifyASN1(k.ECDSA(), h[:], der)
	})
	got := testing.AllocsPerRun(20, func() { _ = VerifySignature(k, body, sig) })
	if got > base+1 {
		t.Errorf("VerifySignature: %v allocs, want ≤ the bare stdlib path (%v) + 1", got, base)
	}
}
