package token

import (
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Benchmarks, each beside its golang-jwt twin (BenchmarkGolangJWT) verifying
// the very same token, the algorithm pinned:
//
//	go test -run='^$' -bench=. -benchmem ./crypto/token/

func benchClaims() Claims {
	c := sampleClaims()
	c.Annotation = strp("")
	return c
}

func BenchmarkMint(b *testing.B) {
	for _, alg := range algs {
		b.Run(string(alg), func(b *testing.B) {
			s := newSigner(b, "k1", alg)
			c := benchClaims()
			buf := make([]byte, 0, 1024)
			b.ReportAllocs()
			for b.Loop() {
				var err error
				if buf, err = s.AppendMint(buf[:0], &c); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkVerify(b *testing.B) {
	for _, alg := range algs {
		b.Run(string(alg), func(b *testing.B) {
			s := newSigner(b, "k1", alg)
			ks := keySet(b, s.Verifier())
			tok := mint(b, s, benchClaims())
			o := opts()
			var v Verified
			b.ReportAllocs()
			for b.Loop() {
				if err := ks.Verify(tok, o, &v); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// benchJWTClaims is what a golang-jwt user would decode our tokens into.
type benchJWTClaims struct {
	jwt.RegisteredClaims
	Device     string  `json:"did"`
	Payload    string  `json:"pay,omitempty"`
	Annotation *string `json:"arc,omitempty"`
}

func BenchmarkGolangJWT(b *testing.B) {
	for _, alg := range algs {
		b.Run(string(alg), func(b *testing.B) {
			s, key := newSignerKey(b, "k1", alg)
			tok := string(mint(b, s, benchClaims()))
			p := jwt.NewParser(jwt.WithValidMethods([]string{string(alg)}), jwt.WithExpirationRequired(),
				jwt.WithIssuedAt(), jwt.WithAudience("acme"), jwt.WithIssuer("attestd"),
				jwt.WithTimeFunc(func() time.Time { return testNow }))
			keyFunc := func(*jwt.Token) (any, error) { return key, nil }
			b.ReportAllocs()
			for b.Loop() {
				var c benchJWTClaims
				if _, err := p.ParseWithClaims(tok, &c, keyFunc); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
