package bench

import (
	"context"
	"crypto/ecdsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"testing"
	"time"

	"github.com/attestd/attestd/crypto/secret"
	"github.com/attestd/attestd/crypto/token"
	"github.com/attestd/attestd/internal/testenv"
)

// attestCases are the sub-benchmarks of BenchmarkAttest: one app per token
// algorithm of its account.
var attestCases = []struct{ name, app string }{
	{"HS256", testenv.App},
	{"ES256", testenv.AppES},
	{"EdDSA", testenv.AppEd},
}

// BenchmarkAttest is the whole attest path in process, keys and apps warm:
// parse, device key, nonce, replay set, signature, registry caches, policy,
// measurement, ban list, verdict, mint, answer encoding, metrics. Nonces are
// single-use, so b.N requests are made and signed before the timer starts.
func BenchmarkAttest(b *testing.B) {
	e := newEnv(b)
	for _, tc := range attestCases {
		b.Run(tc.name, func(b *testing.B) {
			reqs := e.requests(b, tc.app, b.N)
			dst := make([]byte, 0, 4096)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				var err error
				if dst, err = e.attest(reqs[i], dst); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkAttestFloor is what no attest can avoid: one ECDSA P-256
// verification of the body's signature (SHA-256 of the body included) and
// one HS256 mint of the claims the edge mints for it. BenchmarkAttest/HS256
// is measured against it.
func BenchmarkAttestFloor(b *testing.B) {
	op := newFloor(b, newEnv(b), token.HS256)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := op(); err != nil {
			b.Fatal(err)
		}
	}
}

// newFloor returns the floor operation for a token algorithm: verify one
// request's signature with the standard library, mint its claims with the
// fixture's key of that algorithm.
func newFloor(tb testing.TB, e *env, alg token.Alg) func() error {
	tb.Helper()
	app := map[token.Alg]string{token.HS256: testenv.App, token.ES256: testenv.AppES, token.EdDSA: testenv.AppEd}[alg]
	r := e.requests(tb, app, 1)[0]
	der, err := base64.RawURLEncoding.DecodeString(string(r.sig))
	if err != nil {
		tb.Fatal(err)
	}
	pub := &e.apps[app][0].DeviceKey().PublicKey
	s := signerOf(tb, e, alg)
	c := floorClaims(e, app)
	dst := make([]byte, 0, 1024)
	return func() error {
		h := sha256.Sum256(r.body)
		if !ecdsa.VerifyASN1(pub, h[:], der) {
			return errors.New("signature does not verify")
		}
		var err error
		dst, err = s.AppendMint(dst[:0], &c)
		return err
	}
}

// signerOf is a token signer with the fixture's key of alg.
func signerOf(tb testing.TB, e *env, alg token.Alg) *token.Signer {
	tb.Helper()
	var key []byte
	var kid string
	var err error
	switch alg {
	case token.HS256:
		key, kid = e.f.HSKey, testenv.KIDHS
	case token.ES256:
		key, err = x509.MarshalPKCS8PrivateKey(e.f.ESKey)
		kid = testenv.KIDES
	case token.EdDSA:
		key, err = x509.MarshalPKCS8PrivateKey(e.f.EdKey)
		kid = testenv.KIDEd
	}
	if err != nil {
		tb.Fatal(err)
	}
	s, err := token.NewSigner(kid, alg, secret.New(key))
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

// floorClaims are the claims the edge mints for a pass of app.
func floorClaims(e *env, app string) token.Claims {
	acct := map[string]string{testenv.App: testenv.Account, testenv.AppES: testenv.AccountES, testenv.AppEd: testenv.AccountEd}[app]
	now := time.Now().Unix()
	c := token.Claims{
		Issuer: "attestd", Subject: app, Audience: acct, IssuedAt: now, ExpiresAt: now + 300,
		ID: "AAAAAAAAAAAAAAAAAAAAAA", Device: e.apps[app][0].DID(),
	}
	if app == testenv.App { // the HS256 account annotates
		arc := ""
		c.Annotation = &arc
	}
	return c
}

// BenchmarkChallenge issues one nonce (§1) and encodes the answer.
func BenchmarkChallenge(b *testing.B) {
	e := newEnv(b)
	dst := make([]byte, 0, 256)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		var err error
		if dst, err = e.edge.AppendChallenge(ctx, dst[:0]); err != nil {
			b.Fatal(err)
		}
	}
}
