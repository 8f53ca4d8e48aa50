package bench

import (
	"context"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/attestd/attestd/client"
	"github.com/attestd/attestd/crypto/secret"
	"github.com/attestd/attestd/crypto/token"
	"github.com/attestd/attestd/internal/attest"
	"github.com/attestd/attestd/internal/model"
	"github.com/attestd/attestd/internal/platformcheck"
	"github.com/attestd/attestd/internal/replay"
	"github.com/attestd/attestd/internal/testenv"
	"github.com/attestd/attestd/verify/playintegrity/playtest"
)

// playBench is the benchmark node with the HS256 app holding Play
// Integrity keys and a core that checks platform evidence.
type playBench struct {
	*env
	edge *attest.Edge
	iss  *playtest.Issuer
}

func newPlayBench(tb testing.TB) *playBench {
	tb.Helper()
	iss, err := playtest.NewIssuer()
	if err != nil {
		tb.Fatal(err)
	}
	e := newEnvWith(tb, func(f *testenv.Fixture) {
		for i := range f.Bundle.Apps {
			if f.Bundle.Apps[i].ID == testenv.App {
				f.Bundle.Apps[i].PlayIntegrity = &model.PlayIntegrity{PlayKeys: model.PlayKeys{
					DecryptionKey: secret.FromString(iss.DecryptionKeyB64()), VerificationKey: secret.FromString(iss.VerificationKeyB64())}}
			}
		}
	})
	chk, err := platformcheck.New(platformcheck.Config{ReceiptTTL: time.Hour, Keys: e.reg, NonceTTL: attest.MaxNonceTTL})
	if err != nil {
		tb.Fatal(err)
	}
	rs, err := replay.New(replay.Config{MaxEntries: 2_000_000, Window: attest.MaxNonceTTL + time.Minute})
	if err != nil {
		tb.Fatal(err)
	}
	edge, err := attest.New(attest.Config{Now: time.Now, Rand: rand.Reader, Registry: e.reg, Replay: rs,
		NonceTTL: attest.MaxNonceTTL, Observer: e.metrics, Platform: chk})
	if err != nil {
		tb.Fatal(err)
	}
	return &playBench{env: e, edge: edge, iss: iss}
}

// token is a genuine Play Integrity token for device c and nonce, made now.
func (p *playBench) token(tb testing.TB, c *client.Client, nonce string) string {
	spki, err := x509.MarshalPKIXPublicKey(&c.DeviceKey().PublicKey)
	if err != nil {
		tb.Fatal(err)
	}
	var signer [32]byte
	copy(signer[:], p.f.Signer)
	tok, err := p.iss.Token(playtest.Pass(testenv.App, signer, []byte(nonce), spki, time.Now()).JSON())
	if err != nil {
		tb.Fatal(err)
	}
	return tok
}

// requests are n attests of the HS256 app's devices, each carrying a
// genuine Play Integrity token for its nonce and device key.
func (p *playBench) requests(tb testing.TB, n int) []request {
	reqs, _ := p.requestsAndFloor(tb, n)
	return reqs
}

// floorInput is what the floor reads of one request: the body and its
// signature, the device key that made it, the token in it.
type floorInput struct {
	body, der []byte
	pub       *ecdsa.PublicKey
	token     string
}

// requestsAndFloor is requests, and for each the floor's input.
func (p *playBench) requestsAndFloor(tb testing.TB, n int) ([]request, []floorInput) {
	tb.Helper()
	in := make([]floorInput, 0, n)
	reqs := p.requestsWith(tb, testenv.App, n, func(c *client.Client, nonce string) json.RawMessage {
		tok := p.token(tb, c, nonce)
		in = append(in, floorInput{pub: &c.DeviceKey().PublicKey, token: tok})
		return client.PlayIntegrityEvidence(tok)
	})
	for i, r := range reqs {
		der, err := base64.RawURLEncoding.DecodeString(string(r.sig))
		if err != nil {
			tb.Fatal(err)
		}
		in[i].body, in[i].der = r.body, der
	}
	return reqs, in
}

func (p *playBench) attest(r request, dst []byte) ([]byte, error) {
	return p.edge.AppendAttest(context.Background(), dst[:0], attest.Input{ContentType: contentJSON, Body: r.body, Signature: r.sig})
}

// BenchmarkAttestPlayIntegrity is a whole attest carrying a Play Integrity
// token (PROTOCOL.md §10) that passes and issues a receipt: the evidence
// read, the JWE checked and decrypted, the JWS checked and verified
// (ES256), the payload read and checked, a receipt issued, beside the rest
// of BenchmarkAttest/HS256. Goal: at most 1.15× BenchmarkPlayIntegrityFloor.
func BenchmarkAttestPlayIntegrity(b *testing.B) {
	p := newPlayBench(b)
	dst := make([]byte, 0, 4096)
	b.ReportAllocs()
	b.ResetTimer()
	inChunks(b, func(n int) []request { return p.requests(b, n) }, func(r *request) {
		var err error
		if dst, err = p.attest(*r, dst); err != nil {
			b.Fatal(err)
		}
	})
}

// playChunk is how many requests the Play benchmarks build at a time,
// with the timer stopped: enough to keep the timed loops long, few enough
// that the pool of pre-built requests (each with a 2 KB token) does not
// grow the live heap every GC cycle marks, which a node does not hold.
const playChunk = 256

// inChunks builds b.N inputs playChunk at a time with the timer stopped,
// and runs op on each with it running.
func inChunks[T any](b *testing.B, build func(n int) []T, op func(*T)) {
	for done := 0; done < b.N; {
		b.StopTimer()
		in := build(min(playChunk, b.N-done))
		b.StartTimer()
		for i := range in {
			op(&in[i])
		}
		done += len(in)
	}
}

// BenchmarkPlayIntegrityFloor is what no Play Integrity attest can avoid:
// BenchmarkAttestFloor's operation (one ECDSA P-256 verification of the
// body's signature, SHA-256 of the body included; one HS256 mint) plus
// go-jose decrypting the request's Play token (parse, A256KW unwrap,
// A256GCM open) and verifying its ES256 JWS (parse, verify). Each
// operation reads its own request, as each attest does: the bodies carry
// their tokens (about 4 KB), and reading b.N of them from memory is part
// of what both sides pay.
func BenchmarkPlayIntegrityFloor(b *testing.B) {
	p := newPlayBench(b)
	op := newPlayFloor(b, p)
	b.ReportAllocs()
	b.ResetTimer()
	inChunks(b, func(n int) []floorInput {
		_, in := p.requestsAndFloor(b, n)
		return in
	}, func(in *floorInput) {
		if err := op(in); err != nil {
			b.Fatal(err)
		}
	})
}

// newPlayFloor returns the floor's operation on one request's input.
func newPlayFloor(tb testing.TB, p *playBench) func(in *floorInput) error {
	tb.Helper()
	s := signerOf(tb, p.env, token.HS256)
	c := floorClaims(p.env, testenv.App)
	dst := make([]byte, 0, 1024)
	aes, pub := p.iss.DecryptionKey, &p.iss.SigningKey.PublicKey
	return func(in *floorInput) error {
		h := sha256.Sum256(in.body)
		if !ecdsa.VerifyASN1(in.pub, h[:], in.der) {
			return errors.New("floor: body signature does not verify")
		}
		var err error
		if dst, err = s.AppendMint(dst[:0], &c); err != nil {
			return err
		}
		jwe, err := jose.ParseEncryptedCompact(in.token, []jose.KeyAlgorithm{jose.A256KW}, []jose.ContentEncryption{jose.A256GCM})
		if err != nil {
			return err
		}
		plain, err := jwe.Decrypt(aes)
		if err != nil {
			return err
		}
		jws, err := jose.ParseSignedCompact(string(plain), []jose.SignatureAlgorithm{jose.ES256})
		if err != nil {
			return err
		}
		if _, err := jws.Verify(pub); err != nil {
			return errors.New("floor: signature does not verify")
		}
		return nil
	}
}

// BenchmarkPlayIntegrityPaired runs BenchmarkAttestPlayIntegrity's and
// BenchmarkPlayIntegrityFloor's operations alternately in batches (see
// BenchmarkPaired) and reports their ratio as x-floor (goal ≤ 1.15), and
// as x-floor-cpu the ratio of the process CPU time each side used, which
// other work on a shared machine does not skew.
func BenchmarkPlayIntegrityPaired(b *testing.B) {
	p := newPlayBench(b)
	floor := newPlayFloor(b, p)
	dst := make([]byte, 0, 4096)
	var ta, tf, ca, cf time.Duration
	b.ReportAllocs()
	b.ResetTimer()
	for done := 0; done < b.N; {
		n := min(playChunk, b.N-done)
		b.StopTimer()
		reqs := p.requests(b, n)
		_, in := p.requestsAndFloor(b, n)
		b.StartTimer()
		i, j := 0, 0
		a, f := pair(n, pairBatch, func(k int) {
			c0 := processCPU()
			for ; k > 0; k-- {
				var err error
				if dst, err = p.attest(reqs[i], dst); err != nil {
					b.Fatal(err)
				}
				i++
			}
			ca += processCPU() - c0
		}, func(k int) {
			c0 := processCPU()
			for ; k > 0; k-- {
				if err := floor(&in[j]); err != nil {
					b.Fatal(err)
				}
				j++
			}
			cf += processCPU() - c0
		})
		ta, tf, done = ta+a, tf+f, done+n
	}
	b.ReportMetric(float64(ta)/float64(tf), "x-floor")
	if cf > 0 {
		b.ReportMetric(float64(ca)/float64(cf), "x-floor-cpu")
	}
	b.ReportMetric(float64(ta)/float64(b.N), "attest-ns/op")
	b.ReportMetric(float64(tf)/float64(b.N), "floor-ns/op")
}

// TestPlayIntegrityAttestPasses: the benchmark measures passing verdicts
// that issue a receipt, not refusals.
func TestPlayIntegrityAttestPasses(t *testing.T) {
	p := newPlayBench(t)
	hk, err := token.NewHMACKey(testenv.KIDHS, secret.New(p.f.HSKey))
	if err != nil {
		t.Fatal(err)
	}
	ks, err := token.NewKeySet(hk)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range p.requests(t, 4) {
		out, err := p.attest(r, nil)
		if err != nil {
			t.Fatal(err)
		}
		var a struct{ Receipt string }
		if err := json.Unmarshal(out, &a); err != nil || a.Receipt == "" {
			t.Fatalf("no receipt in %s", out)
		}
		var v token.Verified
		if err := ks.Verify(tokenOf(t, out), token.Options{Audience: testenv.Account, Issuer: "attestd"}, &v); err != nil {
			t.Fatalf("Play Integrity attest did not pass: %v (%s)", err, out)
		}
	}
	_, in := p.requestsAndFloor(t, 2)
	for i := range in {
		if err := newPlayFloor(t, p)(&in[i]); err != nil {
			t.Fatal(err)
		}
	}
}
