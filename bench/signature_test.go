package bench

import (
	"context"
	"crypto/ecdsa"
	"crypto/sha256"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/attestd/attestd/backend"
	"github.com/attestd/attestd/client"
	"github.com/attestd/attestd/crypto/httpsig"
	"github.com/attestd/attestd/crypto/secret"
	"github.com/attestd/attestd/crypto/token"
	"github.com/attestd/attestd/internal/testenv"
)

// Request signatures (PROTOCOL.md §12) on the backend path, beside
// BenchmarkTokenVerify: backend.Verifier.VerifySignedInto of a signed POST
// carrying a pop token the edge minted: the token (HS256 or ES256), the
// Signature-Input and Signature parsed, the components checked, keyid, the
// window, the cnf key parsed, the signature base built and its ECDSA P-256
// signature verified, the Content-Digest of the body, the replay cache.
// Its floor, measured in the same run, is one ECDSA P-256 verification
// (BenchmarkRequestSignatureVerifyFloor); the goal is HS256 ≤ 1.3× the
// floor (BenchmarkPaired/RequestSignatureVerifyHS256-Floor, x-floor). An
// ES256 token costs a second ECDSA verification of its own.

// sigBody is the signed requests' body.
var sigBody = []byte(`{"amount":42,"currency":"EUR","to":"bob"}`)

// sigCase is n signed requests of one device with one pop token, and the
// backend that verifies them.
type sigCase struct {
	v    *backend.Verifier
	sigs *backend.Signatures
	tok  []byte
	reqs []httpsig.Request
	out  token.Verified
	ctx  context.Context
}

func newSigCase(tb testing.TB, e *env, app string, n int) *sigCase {
	tb.Helper()
	c := e.apps[app][0]
	tok := popToken(tb, e, c)
	now := time.Now().Add(time.Second)
	sc := &sigCase{tok: tok, ctx: context.Background(), reqs: make([]httpsig.Request, n)}
	var k token.VerifyKey
	var err error
	aud := testenv.Account
	switch app {
	case testenv.App:
		k, err = token.NewHMACKey(testenv.KIDHS, secret.New(e.f.HSKey))
	case testenv.AppES:
		aud = testenv.AccountES
		k, err = token.NewPublicKey(testenv.KIDES, token.ES256, &e.f.ESKey.PublicKey)
	}
	if err != nil {
		tb.Fatal(err)
	}
	sc.v, err = backend.New(backend.Config{Keys: []token.VerifyKey{k}, Audience: aud, Now: func() time.Time { return now }})
	if err != nil {
		tb.Fatal(err)
	}
	sc.sigs = backend.NewSignatures(backend.SignatureConfig{Replay: backend.NewMemoryReplayCache(2*n + 1024)})
	digest := string(httpsig.AppendContentDigest(nil, sigBody))
	for i := range sc.reqs {
		r := httpsig.Request{Method: "POST", Authority: "api.example.com", Path: "/v1/payments", Query: "idempotency=7",
			Header: http.Header{"Attest-Token": {string(tok)}, "Content-Type": {"application/json"}, "Content-Digest": {digest}}}
		in, sig, err := httpsig.SignRequest(&r, true, c.DeviceKey(), now.Unix())
		if err != nil {
			tb.Fatal(err)
		}
		r.Header["Signature-Input"] = []string{"att=" + in}
		r.Header["Signature"] = []string{"att=" + sig}
		sc.reqs[i] = r
	}
	return sc
}

func (sc *sigCase) verify(i int) error {
	return sc.v.VerifySignedInto(sc.ctx, sc.sigs, sc.tok, nil, &sc.reqs[i], sigBody, &sc.out)
}

// popToken attests device c with "pop": true on the edge and returns the
// token.
func popToken(tb testing.TB, e *env, c *client.Client) []byte {
	tb.Helper()
	buf, err := e.edge.AppendChallenge(context.Background(), nil)
	if err != nil {
		tb.Fatal(err)
	}
	var ch struct{ Nonce string }
	if err := json.Unmarshal(buf, &ch); err != nil {
		tb.Fatal(err)
	}
	body, err := c.Body(ch.Nonce, client.Evidence{PoP: true})
	if err != nil {
		tb.Fatal(err)
	}
	sig, err := c.Sign(body)
	if err != nil {
		tb.Fatal(err)
	}
	ans, err := e.attest(request{body: body, sig: []byte(sig)}, nil)
	if err != nil {
		tb.Fatal(err)
	}
	return tokenOf(tb, ans)
}

// BenchmarkRequestSignatureVerify: see the top of this file. Each request
// is signed anew (the replay cache refuses a signature twice), before the
// timer starts.
func BenchmarkRequestSignatureVerify(b *testing.B) {
	e := newEnv(b)
	for _, tc := range verifyCases {
		b.Run(tc.name, func(b *testing.B) {
			sc := newSigCase(b, e, tc.app, b.N)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if err := sc.verify(i); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// sigFloor is one ECDSA P-256 verification with the standard library: a
// prepared public key, SHA-256 of a message of a signature base's size,
// and a DER signature.
func sigFloor(tb testing.TB, e *env) func() bool {
	tb.Helper()
	key := e.apps[testenv.App][0].DeviceKey()
	msg := make([]byte, 1024)
	sum := sha256.Sum256(msg)
	sig, err := ecdsa.SignASN1(nil, key, sum[:])
	if err != nil {
		tb.Fatal(err)
	}
	pub := &key.PublicKey
	return func() bool {
		sum := sha256.Sum256(msg)
		return ecdsa.VerifyASN1(pub, sum[:], sig)
	}
}

// BenchmarkRequestSignatureVerifyFloor is BenchmarkRequestSignatureVerify's
// floor: one ECDSA P-256 verification.
func BenchmarkRequestSignatureVerifyFloor(b *testing.B) {
	floor := sigFloor(b, newEnv(b))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if !floor() {
			b.Fatal("the floor's signature does not verify")
		}
	}
}

// TestRequestSignatureVerifyAllocs: the backend path of a signed request
// allocates what one ECDSA P-256 verification of the standard library does
// (it converts the key and the signature on every call), plus the cnf
// key's parse, and at most 4 more.
func TestRequestSignatureVerifyAllocs(t *testing.T) {
	skipIfRace(t)
	e := newEnv(t)
	const n = 100
	sc := newSigCase(t, e, testenv.App, n+1)
	if err := sc.verify(n); err != nil { // grows the buffers
		t.Fatal(err)
	}
	i := 0
	got := testing.AllocsPerRun(n-1, func() {
		if err := sc.verify(i); err != nil {
			t.Fatal(err)
		}
		i++
	})
	floor := sigFloor(t, e)
	pt, _ := e.apps[testenv.App][0].DeviceKey().PublicKey.Bytes()
	base := testing.AllocsPerRun(50, func() {
		if _, err := httpsig.PublicKey(pt); err != nil || !floor() {
			t.Fatal("floor")
		}
	})
	if got > base+4 {
		t.Fatalf("%v allocations per signed request, floor (ECDSA verification + key parse) %v: over the budget of 4 more", got, base)
	}
	t.Logf("%v allocations per signed request; ECDSA verification + key parse: %v", got, base)
}
