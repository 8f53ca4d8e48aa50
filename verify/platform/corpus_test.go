package platform_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/attestd/attestd/verify/platformtest"
)

// TestWriteEvidenceCorpus regenerates the attacker's inputs in
// FuzzParseEvidence's committed corpus when ATTESTD_WRITE_CORPUS=1: each
// hostile chain as an android-key object, escapes, the strictnesses.
func TestWriteEvidenceCorpus(t *testing.T) {
	if os.Getenv("ATTESTD_WRITE_CORPUS") != "1" {
		t.Skip("set ATTESTD_WRITE_CORPUS=1 to regenerate the corpus")
	}
	dir := filepath.Join("testdata", "fuzz", "FuzzParseEvidence")
	ca, err := platformtest.NewAndroidCA()
	if err != nil {
		t.Fatal(err)
	}
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	hs, err := platformtest.HostileChains(ca.Root, ca.RootKey, &k.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range hs {
		enc := make([]string, len(h.Chain))
		for i, c := range h.Chain {
			enc[i] = base64.RawURLEncoding.EncodeToString(c)
		}
		b, _ := json.Marshal(map[string]any{"format": "android-key", "chain": enc})
		writeCorpus(t, filepath.Join(dir, "hostile-"+h.Name), b)
	}
	for name, s := range map[string]string{
		"escapes":          `{"form\u0061t":"receipt","receipt":"\u0072\ud83d\ude00\ud800x\/\n"}`,
		"escaped-b64":      `{"format":"android-key","chain":["MAM\u0043AQE"]}`,
		"key-other-case":   `{"Format":"receipt","receipt":"r"}`,
		"key-repeated":     `{"format":"receipt","receipt":"r","format":"receipt"}`,
		"deep":             `{"format":"receipt","receipt":"r","x":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}`,
		"values":           ` {"format":"receipt","receipt":"r","n":-0.5e+3,"t":true,"f":false,"z":null,"o":{"a":[]}} `,
		"null-chain-entry": `{"format":"receipt","receipt":"r","chain":[null]}`,
		"null":             `null`,
		"control-char":     "{\"format\":\"receipt\",\"receipt\":\"r\x01\"}",
		"invalid-utf8":     "{\"format\":\"receipt\",\"receipt\":\"r\xff\"}",
	} {
		writeCorpus(t, filepath.Join(dir, name), []byte(s))
	}
}

// writeCorpus writes one []byte input in the format of go test -fuzz.
func writeCorpus(t *testing.T, path string, b []byte) {
	t.Helper()
	if err := os.WriteFile(path, []byte(fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", b)), 0o644); err != nil {
		t.Fatal(err)
	}
}
