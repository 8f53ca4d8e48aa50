package backend

import (
	"context"
	"crypto/ecdsa"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/attestd/attestd/crypto/secret"
	"github.com/attestd/attestd/crypto/token"
)

// Each Verifier benchmark has its golang-jwt twin verifying the same token
// with the same checks (algorithm pinned, exp, iat, aud, iss):
//
//	go test -run='^$' -bench=. -benchmem ./backend/

type benchFixture struct {
	v      *Verifier
	tok    string
	key    any // golang-jwt's key
	alg    string
	now    time.Time
	noBind []byte
}

func newBenchFixture(b *testing.B, alg token.Alg) benchFixture {
	clk := newClock()
	var s *token.Signer
	var key any
	switch alg {
	case token.HS256:
		raw := []byte("0123456789abcdef0123456789abcdef")
		s, _ = token.NewSigner("k1", token.HS256, secret.New(raw))
		key = raw
	case token.ES256:
		s = esSigner(b, "k1")
		key = s.Verifier().Public().(*ecdsa.PublicKey)
	}
	c := claimsAt(clk.Now())
	c.Annotation = new(string)
	return benchFixture{
		v:   newVerifier(b, Config{Keys: []token.VerifyKey{s.Verifier()}, Audience: "acme", Now: clk.Now}),
		tok: mint(b, s, c), key: key, alg: string(alg), now: clk.Now(),
	}
}

func BenchmarkVerifier(b *testing.B) {
	for _, alg := range []token.Alg{token.HS256, token.ES256} {
		b.Run(string(alg), func(b *testing.B) {
			f := newBenchFixture(b, alg)
			tok := []byte(f.tok)
			ctx := context.Background()
			var out token.Verified
			b.ReportAllocs()
			for b.Loop() {
				if err := f.v.VerifyInto(ctx, tok, nil, &out); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	// Verify, which copies the claims into a token.Claims of strings.
	b.Run("HS256-Claims", func(b *testing.B) {
		f := newBenchFixture(b, token.HS256)
		ctx := context.Background()
		b.ReportAllocs()
		for b.Loop() {
			if _, err := f.v.Verify(ctx, f.tok, nil); err != nil {
				b.Fatal(err)
			}
		}
	})
}

type jwtClaims struct {
	jwt.RegisteredClaims
	Device     string  `json:"did"`
	Payload    string  `json:"pay,omitempty"`
	Annotation *string `json:"arc,omitempty"`
}

func BenchmarkGolangJWT(b *testing.B) {
	for _, alg := range []token.Alg{token.HS256, token.ES256} {
		b.Run(string(alg), func(b *testing.B) {
			f := newBenchFixture(b, alg)
			p := jwt.NewParser(jwt.WithValidMethods([]string{f.alg}), jwt.WithExpirationRequired(), jwt.WithIssuedAt(),
				jwt.WithAudience("acme"), jwt.WithIssuer("attestd"), jwt.WithLeeway(30*time.Second),
				jwt.WithTimeFunc(func() time.Time { return f.now }))
			keyFunc := func(*jwt.Token) (any, error) { return f.key, nil }
			b.ReportAllocs()
			for b.Loop() {
				var c jwtClaims
				if _, err := p.ParseWithClaims(f.tok, &c, keyFunc); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
