package bench

import (
	"context"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/attestd/attestd/backend"
	"github.com/attestd/attestd/crypto/secret"
	"github.com/attestd/attestd/crypto/token"
	"github.com/attestd/attestd/internal/testenv"
)

// verifyCase is a token the edge minted for a passing attest, and what a
// backend verifies it with: the account's key given in advance, the
// audience, the issuer, a clock one second after the mint.
type verifyCase struct {
	tok     []byte
	v       *backend.Verifier
	out     token.Verified
	alg     string
	aud     string
	key     any // golang-jwt's form of the key
	now     time.Time
	context context.Context
}

func newVerifyCase(tb testing.TB, e *env, app string) *verifyCase {
	tb.Helper()
	ans, err := e.attest(e.requests(tb, app, 1)[0], nil)
	if err != nil {
		tb.Fatal(err)
	}
	vc := &verifyCase{tok: tokenOf(tb, ans), now: time.Now().Add(time.Second), context: context.Background()}
	var k token.VerifyKey
	switch app {
	case testenv.App:
		vc.alg, vc.aud, vc.key = "HS256", testenv.Account, e.f.HSKey
		k, err = token.NewHMACKey(testenv.KIDHS, secret.New(e.f.HSKey))
	case testenv.AppES:
		vc.alg, vc.aud, vc.key = "ES256", testenv.AccountES, &e.f.ESKey.PublicKey
		k, err = token.NewPublicKey(testenv.KIDES, token.ES256, &e.f.ESKey.PublicKey)
	default:
		tb.Fatalf("no verify case for %s", app)
	}
	if err != nil {
		tb.Fatal(err)
	}
	vc.v, err = backend.New(backend.Config{Keys: []token.VerifyKey{k}, Audience: vc.aud, Now: func() time.Time { return vc.now }})
	if err != nil {
		tb.Fatal(err)
	}
	if err := vc.verify(); err != nil {
		tb.Fatalf("the edge's %s token does not verify: %v", vc.alg, err)
	}
	return vc
}

func (vc *verifyCase) verify() error { return vc.v.VerifyInto(vc.context, vc.tok, nil, &vc.out) }

var verifyCases = []struct{ name, app string }{{"HS256", testenv.App}, {"ES256", testenv.AppES}}

// BenchmarkTokenVerify is the backend path: backend.Verifier.VerifyInto of
// a token the edge minted (signature, alg pinned by the key, exp, iat, aud,
// iss).
func BenchmarkTokenVerify(b *testing.B) {
	e := newEnv(b)
	for _, tc := range verifyCases {
		b.Run(tc.name, func(b *testing.B) {
			vc := newVerifyCase(b, e, tc.app)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if err := vc.verify(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// jwtClaims is what a golang-jwt user decodes our tokens into.
type jwtClaims struct {
	jwt.RegisteredClaims
	Device     string  `json:"did"`
	Payload    string  `json:"pay,omitempty"`
	Annotation *string `json:"arc,omitempty"`
}

// BenchmarkGolangJWT is BenchmarkTokenVerify's baseline: the same token and
// the same checks with github.com/golang-jwt/jwt/v5.
func BenchmarkGolangJWT(b *testing.B) {
	e := newEnv(b)
	for _, tc := range verifyCases {
		b.Run(tc.name, func(b *testing.B) {
			verify := newGolangJWT(b, newVerifyCase(b, e, tc.app))
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if err := verify(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// newGolangJWT returns golang-jwt's verification of vc's token with the
// same checks as the backend's: algorithm pinned, exp required, iat, aud,
// iss, 30 s leeway, the same clock.
func newGolangJWT(tb testing.TB, vc *verifyCase) func() error {
	p := jwt.NewParser(jwt.WithValidMethods([]string{vc.alg}), jwt.WithExpirationRequired(), jwt.WithIssuedAt(),
		jwt.WithAudience(vc.aud), jwt.WithIssuer("attestd"), jwt.WithLeeway(30*time.Second),
		jwt.WithTimeFunc(func() time.Time { return vc.now }))
	keyFunc := func(*jwt.Token) (any, error) { return vc.key, nil }
	tok := string(vc.tok)
	return func() error {
		var c jwtClaims
		_, err := p.ParseWithClaims(tok, &c, keyFunc)
		return err
	}
}
