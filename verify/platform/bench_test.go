package platform_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"strings"
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

// BenchmarkScanEvidenceHostile is ScanEvidence over the objects of 61 KB
// it reads slowest per byte: 10,000 short unknown members ("a":0), an
// unknown member holding 30,000 numbers, beside one padded with a plain
// string (the floor).
func BenchmarkScanEvidenceHostile(b *testing.B) {
	const pad = 61_000
	head := `{"format":"receipt","receipt":"x",`
	for _, in := range []struct{ name, obj string }{
		{"plain", head + `"pad":"` + strings.Repeat("A", pad) + `"}`},
		{"members", head + `"b":0` + strings.Repeat(`,"a":0`, pad/6) + `}`},
		{"numbers", head + `"pad":[` + strings.Repeat(`0,`, pad/2) + `0]}`},
	} {
		obj := []byte(in.obj)
		b.Run(in.name, func(b *testing.B) {
			b.SetBytes(int64(len(obj)))
			b.ReportAllocs()
			var w platform.Wire
			for b.Loop() {
				if _, err := platform.ScanEvidence(obj, 0, platform.ScanLimits{UTF8: true}, &w); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
