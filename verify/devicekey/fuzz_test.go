package devicekey

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"os"
	"testing"
)

// opensslVector loads testdata/openssl-vector.json, which the committed
// FuzzSignature corpus was made against.
func opensslVector(t testing.TB) (Key, vector) {
	t.Helper()
	raw, err := os.ReadFile("testdata/openssl-vector.json")
	if err != nil {
		t.Fatal(err)
	}
	var v vector
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatal(err)
	}
	spki, err := base64.RawURLEncoding.DecodeString(v.SPKI)
	if err != nil {
		t.Fatal(err)
	}
	return mustParse(t, spki), v
}

// FuzzParse: Parse never panics, fails only with its sentinels, accepts
// only the two exact encodings of a point on P-256, and accepts a point
// exactly when crypto/ecdsa does. A reused KeyBuf gives the same answer.
func FuzzParse(f *testing.F) {
	k, _ := opensslVector(f)
	p := k.Point()
	f.Add(p[:])
	f.Add(k.SPKI())
	var buf KeyBuf
	f.Fuzz(func(t *testing.T, b []byte) {
		k, err := Parse(b)
		if kb, errb := ParseBuf(b, &buf); (err == nil) != (errb == nil) || kb.Point() != k.Point() {
			t.Fatalf("Parse and ParseBuf disagree: %v, %v", err, errb)
		}
		var point []byte
		switch {
		case len(b) == PointSize && b[0] == 4:
			point = b
		case len(b) == SPKISize && string(b[:len(spkiPrefix)]) == spkiPrefix:
			point = b[len(spkiPrefix):]
		}
		if point != nil {
			if _, stdErr := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), point); (stdErr == nil) != (err == nil) {
				t.Fatalf("Parse err = %v, crypto/ecdsa err = %v", err, stdErr)
			}
		}
		if err != nil {
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrNotP256) {
				t.Fatalf("Parse: unexpected error %v", err)
			}
			if !k.IsZero() {
				t.Fatal("key returned with an error")
			}
			return
		}
		p := k.Point()
		switch {
		case bytes.Equal(b, p[:]):
		case bytes.Equal(b, k.SPKI()):
		default:
			t.Fatalf("accepted %x, which is neither the point nor the SPKI", b)
		}
		sum := sha256.Sum256(p[:])
		if k.DID() != base64.RawURLEncoding.EncodeToString(sum[:]) {
			t.Fatalf("DID %q is not b64u(SHA-256(point))", k.DID())
		}
		if dh, err := k.ECDSA().ECDH(); err != nil || !dh.Equal(k.ECDH()) {
			t.Fatalf("ECDSA and ECDH keys disagree: %v", err)
		}
	})
}

// FuzzSignature: VerifySignature never panics, fails only with
// ErrSignature, and accepts only the canonical spelling of a valid
// signature.
func FuzzSignature(f *testing.F) {
	k, v := opensslVector(f)
	f.Add([]byte(v.Signature))
	f.Add([]byte(v.Signature + "="))
	f.Fuzz(func(t *testing.T, sig []byte) {
		err := VerifySignature(k, []byte(v.Body), sig)
		if err != nil {
			if !errors.Is(err, ErrSignature) {
				t.Fatalf("VerifySignature: unexpected error %v", err)
			}
			return
		}
		der, derr := base64.RawURLEncoding.Strict().DecodeString(string(sig))
		if derr != nil || base64.RawURLEncoding.EncodeToString(der) != string(sig) {
			t.Fatalf("accepted a non-canonical spelling %q", sig)
		}
	})
}
