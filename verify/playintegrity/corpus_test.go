package playintegrity_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/go-jose/go-jose/v4"

	"github.com/attestd/attestd/verify/playintegrity/playtest"
)

// TestWritePlayCorpus regenerates the committed corpora of FuzzVerify and
// FuzzCheckPayload when ATTESTD_WRITE_CORPUS=1, with the fuzz targets'
// fixed keys: a genuine token and each attacker's token.
func TestWritePlayCorpus(t *testing.T) {
	if os.Getenv("ATTESTD_WRITE_CORPUS") != "1" {
		t.Skip("set ATTESTD_WRITE_CORPUS=1 to regenerate the corpus")
	}
	iss := fuzzIssuer(t)
	spki := fuzzDevice(t, iss)
	pass := playtest.Pass(appID, fuzzSigner, fuzzNonce, spki, fuzzNow)
	payload := pass.JSON()
	must := func(s string, err error) string {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	jws := must(playtest.SignJWS(jose.ES256, iss.SigningKey, payload, nil))
	wrap := func(alg jose.KeyAlgorithm, enc jose.ContentEncryption, key any, plain string, opts *jose.EncrypterOptions) string {
		return must(playtest.EncryptJWE(alg, enc, key, []byte(plain), opts))
	}
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	other, _ := playtest.NewIssuer()
	tokens := map[string]string{
		"genuine":          must(iss.Token(payload)),
		"jwe-alg-dir":      wrap(jose.DIRECT, jose.A256GCM, iss.DecryptionKey, jws, nil),
		"jwe-alg-a128kw":   wrap(jose.A128KW, jose.A256GCM, iss.DecryptionKey[:16], jws, nil),
		"jwe-enc-a128gcm":  wrap(jose.A256KW, jose.A128GCM, iss.DecryptionKey, jws, nil),
		"jwe-zip-deflate":  wrap(jose.A256KW, jose.A256GCM, iss.DecryptionKey, jws, &jose.EncrypterOptions{Compression: jose.DEFLATE}),
		"jwe-crit":         wrap(jose.A256KW, jose.A256GCM, iss.DecryptionKey, jws, (&jose.EncrypterOptions{}).WithHeader("crit", []string{"exp"})),
		"jws-hs256":        wrap(jose.A256KW, jose.A256GCM, iss.DecryptionKey, must(playtest.SignJWS(jose.HS256, iss.DecryptionKey, payload, nil)), nil),
		"jws-es384":        wrap(jose.A256KW, jose.A256GCM, iss.DecryptionKey, must(playtest.SignJWS(jose.ES384, p384, payload, nil)), nil),
		"jws-alg-none":     wrap(jose.A256KW, jose.A256GCM, iss.DecryptionKey, playtest.UnsecuredJWS(payload), nil),
		"jws-without-jwe":  jws,
		"jwe-of-json":      wrap(jose.A256KW, jose.A256GCM, iss.DecryptionKey, string(payload), nil),
		"wrong-keys":       must(other.Token(payload)),
		"six-parts":        must(iss.Token(payload)) + ".AAAA",
		"header-repeated":  withJWEHeader(must(iss.Token(payload)), `{"alg":"A256KW","enc":"A256GCM","alg":"dir"}`),
		"header-escaped":   withJWEHeader(must(iss.Token(payload)), `{"\u0061lg":"A256KW","enc":"A256GCM"}`),
		"empty-parts":      "....",
		"long-ciphertext":  "eyJhbGciOiJBMjU2S1ciLCJlbmMiOiJBMjU2R0NNIn0." + strings.Repeat("A", 54) + "." + strings.Repeat("A", 16) + "." + strings.Repeat("A", 16000) + "." + strings.Repeat("A", 22),
		"jws-in-jwe-plain": jws + "." + jws,
	}
	for name, tok := range tokens {
		writeCorpus(t, filepath.Join("testdata", "fuzz", "FuzzVerify", name), fmt.Sprintf("string(%q)", tok))
	}
	deep := strings.Repeat("[", 17) + strings.Repeat("]", 17)
	payloads := map[string]string{
		"genuine":        string(payload),
		"deep":           `{"requestDetails":{"timestampMillis":"1"},"x":` + deep + `}`,
		"string-escapes": `{"requestDetails":{"timestampMillis":"1","nonce":"\"[[[[\\"},"x":"]]]"}`,
		"not-object":     `[]`,
		"null":           `null`,
		"number-millis":  `{"requestDetails":{"timestampMillis":1e3}}`,
	}
	payloads["repeated-section"] = `{"requestDetails":{"timestampMillis":"1"},"requestDetails":{"timestampMillis":"2"}}`
	payloads["folded-name"] = `{"RequestDetails":{"timestampMillis":"1"},"requestDetails":{"timestampMillis":"2"}}`
	payloads["null-in-array"] = `{"requestDetails":{"timestampMillis":"1"},"appIntegrity":{"certificateSha256Digest":[null]}}`
	payloads["escaped-names"] = `{"request\u0044etails":{"timestampMillis":"1","n\u006fnce":"\ud83d\ude00"}}`
	for name, p := range payloads {
		for _, target := range []string{"FuzzCheckPayload", "FuzzParsePayload"} {
			writeCorpus(t, filepath.Join("testdata", "fuzz", target, name), fmt.Sprintf("[]byte(%q)", p))
		}
	}
}

// writeCorpus writes one input (a Go literal) in the format of go test -fuzz.
func writeCorpus(t *testing.T, path, literal string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte("go test fuzz v1\n"+literal+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
}
