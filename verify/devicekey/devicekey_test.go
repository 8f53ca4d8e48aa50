package devicekey

import (
	"bytes"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"os"
	"testing"
)

func genKey(t testing.TB) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func spkiOf(t testing.TB, pub any) []byte {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func pointOf(t testing.TB, k *ecdsa.PrivateKey) []byte {
	t.Helper()
	p, err := k.PublicKey.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func mustParse(t testing.TB, b []byte) Key {
	t.Helper()
	k, err := Parse(b)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return k
}

func TestParseBothEncodings(t *testing.T) {
	priv := genKey(t)
	point, der := pointOf(t, priv), spkiOf(t, &priv.PublicKey)
	if len(der) != SPKISize || string(der[:len(spkiPrefix)]) != spkiPrefix {
		t.Fatalf("crypto/x509's SPKI %x does not have the expected prefix", der)
	}
	fromPoint, fromSPKI := mustParse(t, point), mustParse(t, der)
	sum := sha256.Sum256(point)
	wantDID := base64.RawURLEncoding.EncodeToString(sum[:])
	for name, k := range map[string]Key{"point": fromPoint, "spki": fromSPKI} {
		t.Run(name, func(t *testing.T) {
			if k.DID() != wantDID {
				t.Errorf("DID = %q, want %q", k.DID(), wantDID)
			}
			if p := k.Point(); !bytes.Equal(p[:], point) {
				t.Errorf("Point = %x, want %x", p, point)
			}
			if !k.ECDSA().Equal(&priv.PublicKey) {
				t.Error("ECDSA key differs from the original")
			}
			wantDH, _ := priv.PublicKey.ECDH()
			if !k.ECDH().Equal(wantDH) || k.ECDH().Curve() != ecdh.P256() {
				t.Error("ECDH key differs from the original")
			}
			if !bytes.Equal(k.SPKI(), der) {
				t.Errorf("SPKI = %x, want %x", k.SPKI(), der)
			}
			if k.IsZero() {
				t.Error("IsZero on a parsed key")
			}
		})
	}
}

func TestParseDoesNotKeepInput(t *testing.T) {
	priv := genKey(t)
	point := pointOf(t, priv)
	k := mustParse(t, point)
	did := k.DID()
	point[10] ^= 0xff
	if p := k.Point(); p[10] == point[10] || k.DID() != did {
		t.Error("Key shares memory with Parse's input")
	}
}

func TestParseErrors(t *testing.T) {
	priv := genKey(t)
	point, der := pointOf(t, priv), spkiOf(t, &priv.PublicKey)
	offCurve := bytes.Clone(point)
	offCurve[64] ^= 1
	offCurveSPKI := append([]byte(spkiPrefix), offCurve...)
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	edPub, _, _ := ed25519.GenerateKey(rand.Reader)
	rsaKey, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	rsaSPKI := spkiOf(t, &rsaKey.PublicKey)
	if len(rsaSPKI) > MaxKeyLen {
		t.Fatalf("RSA-1024 SPKI is %d bytes; the case needs ≤ %d", len(rsaSPKI), MaxKeyLen)
	}
	compressed := elliptic.MarshalCompressed(elliptic.P256(), priv.X, priv.Y)
	// The same key as an SPKI with a compressed point: valid ASN.1, P-256,
	// but not one of the two accepted encodings.
	compressedSPKI := append([]byte("\x30\x39\x30\x13\x06\x07\x2a\x86\x48\xce\x3d\x02\x01"+
		"\x06\x08\x2a\x86\x48\xce\x3d\x03\x01\x07\x03\x22\x00"), compressed...)
	unusedBits := bytes.Clone(der)
	unusedBits[len(spkiPrefix)-1] = 1
	infinity := append([]byte{4}, make([]byte, 64)...)

	for _, tc := range []struct {
		name string
		in   []byte
		want error
	}{
		{"fail/empty", nil, ErrMalformed},
		{"fail/over-200-bytes", append(bytes.Clone(der), make([]byte, MaxKeyLen-len(der)+1)...), ErrMalformed},
		{"fail/point-bad-tag", append([]byte{5}, point[1:]...), ErrMalformed},
		{"fail/point-short", point[:64], ErrMalformed},
		{"fail/point-long", append(bytes.Clone(point), 0), ErrMalformed},
		{"fail/compressed-point", compressed, ErrMalformed},
		{"fail/spki-trailing-byte", append(bytes.Clone(der), 0), ErrMalformed},
		{"fail/spki-truncated", der[:len(der)-1], ErrMalformed},
		{"fail/spki-compressed-point", compressedSPKI, ErrMalformed},
		{"fail/spki-unused-bits", unusedBits, ErrMalformed},
		{"fail/garbage", []byte("not a key at all"), ErrMalformed},
		{"fail/point-off-curve", offCurve, ErrNotP256},
		{"fail/point-at-infinity", infinity, ErrNotP256},
		{"fail/spki-off-curve", offCurveSPKI, ErrNotP256},
		{"fail/spki-point-bad-tag", append([]byte(spkiPrefix), append([]byte{5}, point[1:]...)...), ErrNotP256},
		{"fail/spki-p384", spkiOf(t, &p384.PublicKey), ErrNotP256},
		{"fail/spki-ed25519", spkiOf(t, edPub), ErrNotP256},
		{"fail/spki-rsa", rsaSPKI, ErrNotP256},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k, err := Parse(tc.in)
			if !errors.Is(err, tc.want) {
				t.Fatalf("Parse = %v, want %v", err, tc.want)
			}
			if !k.IsZero() || k.DID() != "" || k.SPKI() != nil {
				t.Error("a key came back with an error")
			}
		})
	}
}

type vector struct {
	SPKI, Point, Body, Signature, DID string
}

// TestOpenSSLVector checks a key, did and signature made by another
// implementation (see testdata/openssl-vector.json, "source").
func TestOpenSSLVector(t *testing.T) {
	raw, err := os.ReadFile("testdata/openssl-vector.json")
	if err != nil {
		t.Fatal(err)
	}
	var v vector
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatal(err)
	}
	dec := func(s string) []byte {
		b, err := base64.RawURLEncoding.DecodeString(s)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	for _, in := range [][]byte{dec(v.SPKI), dec(v.Point)} {
		k := mustParse(t, in)
		if k.DID() != v.DID {
			t.Errorf("DID = %q, want %q", k.DID(), v.DID)
		}
		if err := VerifySignature(k, []byte(v.Body), []byte(v.Signature)); err != nil {
			t.Errorf("VerifySignature: %v", err)
		}
		if err := VerifySignature(k, []byte(v.Body+" "), []byte(v.Signature)); !errors.Is(err, ErrSignature) {
			t.Errorf("VerifySignature of another body = %v, want ErrSignature", err)
		}
	}
}
