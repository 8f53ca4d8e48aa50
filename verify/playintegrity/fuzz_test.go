package playintegrity_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/attestd/attestd/verify/playintegrity"
	"github.com/attestd/attestd/verify/playintegrity/playtest"
)

// The fuzz targets' fixed world, so that the committed corpus (made with
// these keys, for this request, at this time) stays valid.
var (
	fuzzNow    = time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	fuzzNonce  = []byte("n1.fuzz-nonce")
	fuzzSigner = sha256.Sum256([]byte("fuzz signer"))
)

// fuzzIssuer is Play's keys for the fuzz targets: fixed bytes.
func fuzzIssuer(t testing.TB) *playtest.Issuer {
	t.Helper()
	d := sha256.Sum256([]byte("attestd play integrity fuzz signing key"))
	k, err := ecdsa.ParseRawPrivateKey(elliptic.P256(), d[:])
	if err != nil {
		t.Fatal(err)
	}
	dec := sha256.Sum256([]byte("attestd play integrity fuzz decryption key"))
	return &playtest.Issuer{DecryptionKey: dec[:], SigningKey: k}
}

// fuzzDevice is the device key's SPKI of the fuzz request: the issuer's
// public key serves (any P-256 SPKI does).
func fuzzDevice(t testing.TB, iss *playtest.Issuer) []byte {
	t.Helper()
	return spkiOf(t, &iss.SigningKey.PublicKey)
}

func fuzzInput(tok string, spki []byte) playintegrity.Input {
	return playintegrity.Input{Token: tok, Nonce: fuzzNonce, DeviceSPKI: spki, AppID: appID, Signer: fuzzSigner}
}

// FuzzVerify feeds Verify arbitrary tokens under the fixed keys. It must
// never panic, every error must name a reason, and a token it accepts must
// carry verdicts that meet the policy. The committed corpus
// (testdata/fuzz/FuzzVerify, TestWritePlayCorpus) holds a genuine token
// and each token Google never makes (other algorithms, zip, crit, extra
// headers, alg none, a bare JWS, a JWE of JSON).
func FuzzVerify(f *testing.F) {
	iss := fuzzIssuer(f)
	spki := fuzzDevice(f, iss)
	keys := iss.KeySet()
	tok, err := iss.Token(playtest.Pass(appID, fuzzSigner, fuzzNonce, spki, fuzzNow).JSON())
	if err != nil {
		f.Fatal(err)
	}
	f.Add(tok)
	f.Fuzz(func(t *testing.T, tok string) {
		v, err := playintegrity.Verify(fuzzInput(tok, spki), keys, playintegrity.Policy{}, maxAge, fuzzNow)
		if err != nil {
			if playintegrity.Reason(err) == playintegrity.ReasonInvalid {
				t.Fatalf("error without a sentinel: %v", err)
			}
			return
		}
		if v.Meets(playintegrity.Policy{}) != nil {
			t.Fatalf("accepted verdicts %+v below the policy", v)
		}
	})
}

// FuzzCheckPayload feeds the payload reader and checks arbitrary bytes, as
// if a token had verified: never a panic, every error with a reason, and a
// payload accepted only when it binds the fuzz request.
func FuzzCheckPayload(f *testing.F) {
	iss := fuzzIssuer(f)
	spki := fuzzDevice(f, iss)
	f.Add(playtest.Pass(appID, fuzzSigner, fuzzNonce, spki, fuzzNow).JSON())
	f.Add([]byte(`{"requestDetails":{"timestampMillis":"1"}}`))
	f.Add([]byte(`[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]`))
	f.Fuzz(func(t *testing.T, b []byte) {
		pl, err := playintegrity.ParsePayload(b)
		if err == nil {
			_, err = playintegrity.Check(pl, fuzzInput("", spki), playintegrity.Policy{}, maxAge, fuzzNow)
		}
		if err != nil {
			if playintegrity.Reason(err) == playintegrity.ReasonInvalid {
				t.Fatalf("error without a sentinel: %v", err)
			}
			return
		}
		if pl.RequestDetails.Nonce == nil || *pl.RequestDetails.Nonce == "" || pl.AppIntegrity.PackageName != appID {
			t.Fatalf("accepted a payload that does not bind the request: %s", b)
		}
	})
}

// TestCorpusGenuineTokenPasses: the committed corpus's genuine token is
// accepted in the fuzz targets' world, so the fuzzer starts from a pass.
func TestCorpusGenuineTokenPasses(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("testdata", "fuzz", "FuzzVerify", "genuine"))
	if err != nil {
		t.Fatal(err)
	}
	lit := strings.TrimSpace(strings.TrimPrefix(string(b), "go test fuzz v1\n"))
	tok, err := strconv.Unquote(strings.TrimSuffix(strings.TrimPrefix(lit, "string("), ")"))
	if err != nil {
		t.Fatal(err)
	}
	iss := fuzzIssuer(t)
	if _, err := playintegrity.Verify(fuzzInput(tok, fuzzDevice(t, iss)), iss.KeySet(), playintegrity.Policy{}, maxAge, fuzzNow); err != nil {
		t.Fatal(err)
	}
}
