package platform_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"testing"

	"github.com/attestd/attestd/verify/platform"
	"github.com/attestd/attestd/verify/platformtest"
	"github.com/attestd/attestd/verify/playintegrity/playtest"
)

// evidenceInputs are a genuine android-key object (three certificates), a
// genuine play-integrity object (a 4 KB token), and the largest the
// attacker sends: eight certificates filling 62 KiB.
func evidenceInputs(b *testing.B) map[string][]byte {
	b.Helper()
	ca, err := platformtest.NewAndroidCA()
	if err != nil {
		b.Fatal(err)
	}
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	genuine, err := ca.AndroidEvidence(&k.PublicKey, []byte("nonce"), "com.example.shop", [32]byte{})
	if err != nil {
		b.Fatal(err)
	}
	hs, err := platformtest.HostileChains(ca.Root, ca.RootKey, &k.PublicKey)
	if err != nil {
		b.Fatal(err)
	}
	out := map[string][]byte{"genuine": genuine}
	iss, err := playtest.NewIssuer()
	if err != nil {
		b.Fatal(err)
	}
	tok, err := iss.Token(playtest.Pass("com.example.shop", [32]byte{}, []byte("nonce"), make([]byte, 91), now).JSON())
	if err != nil {
		b.Fatal(err)
	}
	out["play-integrity"], _ = json.Marshal(map[string]string{"format": "play-integrity", "token": tok})
	for _, h := range hs {
		if h.Name == "eight-max-size-anchored" {
			enc := make([]string, len(h.Chain))
			for i, c := range h.Chain {
				enc[i] = base64.RawURLEncoding.EncodeToString(c)
			}
			out["max-size"], _ = json.Marshal(map[string]any{"format": "android-key", "chain": enc})
		}
	}
	return out
}

// BenchmarkParseEvidence is the one-pass reader; BenchmarkParseEvidenceStd
// beside it the encoding/json decoder it replaced, on the same inputs.
func BenchmarkParseEvidence(b *testing.B) {
	for name, in := range evidenceInputs(b) {
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(in)))
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				if _, err := platform.ParseEvidence(in); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkParseEvidenceStd(b *testing.B) {
	for name, in := range evidenceInputs(b) {
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(in)))
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				if _, err := parseStd(in); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
