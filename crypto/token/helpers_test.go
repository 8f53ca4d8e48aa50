package token

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"errors"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/attestd/attestd/crypto/secret"
)

// testNow is the clock of every test: tokens are minted at it.
var testNow = time.Unix(1_760_000_000, 0)

func hmacSecret(t testing.TB) secret.Value {
	t.Helper()
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return secret.New(b)
}

func ecPKCS8(t testing.TB, curve elliptic.Curve) secret.Value {
	t.Helper()
	k, err := ecdsa.GenerateKey(curve, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return secret.New(der)
}

func edPKCS8(t testing.TB) secret.Value {
	t.Helper()
	_, k, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return secret.New(der)
}

// newSigner returns a signer for alg with a fresh key.
func newSigner(t testing.TB, kid string, alg Alg) *Signer {
	t.Helper()
	s, _ := newSignerKey(t, kid, alg)
	return s
}

// newSignerKey returns a signer for alg with a fresh key, and the key
// golang-jwt verifies its tokens with.
func newSignerKey(t testing.TB, kid string, alg Alg) (*Signer, any) {
	t.Helper()
	var key secret.Value
	switch alg {
	case HS256:
		key = hmacSecret(t)
	case ES256:
		key = ecPKCS8(t, elliptic.P256())
	case EdDSA:
		key = edPKCS8(t)
	}
	s, err := NewSigner(kid, alg, key)
	if err != nil {
		t.Fatalf("NewSigner(%s): %v", alg, err)
	}
	if alg == HS256 {
		return s, append([]byte(nil), key.Reveal()...)
	}
	return s, s.Verifier().Public()
}

func keySet(t testing.TB, keys ...VerifyKey) *KeySet {
	t.Helper()
	ks, err := NewKeySet(keys...)
	if err != nil {
		t.Fatal(err)
	}
	return ks
}

func strp(s string) *string { return &s }

// sampleClaims are claims as the edge mints them, issued at testNow.
func sampleClaims() Claims {
	return Claims{
		Issuer:    "attestd",
		Subject:   "com.example.shop",
		Audience:  "acme",
		IssuedAt:  testNow.Unix(),
		ExpiresAt: testNow.Unix() + 300,
		ID:        "q7P1n6Xx0hQeS0Gm9cN9Vw",
		Device:    "b5bb9d8014a0f9b1d61e21e796d78dccdf1352f23cd32812f4850b878ae4944c",
		Payload:   BindingHash([]byte("Bearer abc")),
	}
}

func mint(t testing.TB, s *Signer, c Claims) []byte {
	t.Helper()
	tok, err := s.AppendMint(nil, &c)
	if err != nil {
		t.Fatalf("AppendMint: %v", err)
	}
	return tok
}

func opts() Options { return Options{Now: testNow, Audience: "acme", Issuer: "attestd"} }

// golangJWT verifies tok with golang-jwt/jwt/v5, the algorithm pinned, at
// testNow, with key, and returns its claims.
func golangJWT(t testing.TB, s *Signer, key any, tok []byte) jwt.MapClaims {
	t.Helper()
	claims := jwt.MapClaims{}
	p := jwt.NewParser(jwt.WithValidMethods([]string{string(s.Alg())}),
		jwt.WithTimeFunc(func() time.Time { return testNow }), jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(), jwt.WithAudience("acme"), jwt.WithIssuer("attestd"))
	parsed, err := p.ParseWithClaims(string(tok), claims, func(tk *jwt.Token) (any, error) {
		if tk.Header["kid"] != s.KID() {
			return nil, errors.New("kid mismatch")
		}
		return key, nil
	})
	if err != nil || !parsed.Valid {
		t.Fatalf("golang-jwt refused our %s token: %v", s.Alg(), err)
	}
	return claims
}
