package bench

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"runtime/pprof"
	"strings"
	"testing"
	"time"

	"github.com/attestd/attestd/client"
	"github.com/attestd/attestd/internal/attest"
	"github.com/attestd/attestd/internal/testenv"
	"github.com/attestd/attestd/verify/platformtest"
	"github.com/attestd/attestd/verify/x509chain"
)

// hostileShape is one attacker's android-key evidence and the arc of the
// failed verdict it must get.
type hostileShape struct {
	name     string
	evidence func(c *client.Client, nonce string) json.RawMessage
	arc      string
	// pad, when set, is a JSON value put in the body's own unknown
	// member "pad", outside platform_attestation.
	pad string
}

// hostileShapes are the chains of platformtest.HostileChains against the
// benchmark node's root (a 120,000-bit RSA key with e = 2^31-1 under a
// 15,000-byte signature, e = 2^31-1 on 2048 bits, 16,384 bits, SHA-1,
// Ed25519, P-521, eight certificates filling the 64 KiB body anchored at a
// copy of the root with the one under it forged, a forged intermediate
// naming the root, nine certificates, one over 16 KiB), and a replayed
// genuine chain (the device's own, made for another nonce: every signature
// holds, the key description is parsed, the challenge fails); bodyShapes
// are the bodies BenchmarkHostileBody measures. Each request
// is signed by its device on a fresh nonce, so it reaches the platform
// check, as an attacker's would for the price of one nonce.
func (p *platformBench) hostileShapes(tb testing.TB) []hostileShape {
	tb.Helper()
	hs := p.hostileChains(tb)
	arcs := map[error]string{x509chain.ErrMalformed: "platform_malformed", x509chain.ErrRoot: "android_root",
		x509chain.ErrKey: "android_chain", x509chain.ErrSignature: "android_chain"}
	var out []hostileShape
	for _, h := range hs {
		raw := chainJSON(h.Chain)
		arc := arcs[h.Want]
		out = append(out, hostileShape{name: h.Name, arc: attest.ReasonPAInvalid + "," + arc,
			evidence: func(*client.Client, string) json.RawMessage { return raw }})
	}
	out = append(out, escapedShape(hs))
	var signer [32]byte
	copy(signer[:], p.f.Signer)
	replayed := map[*client.Client]json.RawMessage{}
	return append(out, hostileShape{name: "replayed-genuine", arc: attest.ReasonPAInvalid + ",android_challenge",
		evidence: func(c *client.Client, _ string) json.RawMessage {
			if raw, ok := replayed[c]; ok {
				return raw
			}
			raw, err := p.ca.AndroidEvidence(&c.DeviceKey().PublicKey, []byte("an earlier nonce"), testenv.App, signer)
			if err != nil {
				tb.Fatal(err)
			}
			replayed[c] = raw
			return raw
		}})
}

// hostileChains are platformtest.HostileChains under the benchmark
// node's root, for a fresh leaf key.
func (p *platformBench) hostileChains(tb testing.TB) []platformtest.Hostile {
	tb.Helper()
	leaf, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	hs, err := platformtest.HostileChains(p.ca.Root, p.ca.RootKey, &leaf.PublicKey)
	if err != nil {
		tb.Fatal(err)
	}
	return hs
}

// escapedShape is eight-max-size-anchored with the first character of
// each certificate written as a JSON escape (\u00XX): the same chain, so
// the same verdict, but every string takes the scanners' slow path and is
// unescaped before it is decoded.
func escapedShape(hs []platformtest.Hostile) hostileShape {
	var chain [][]byte
	for _, h := range hs {
		if h.Name == "eight-max-size-anchored" {
			chain = h.Chain
		}
	}
	b := []byte(`{"format":"android-key","chain":[`)
	for i, c := range chain {
		if i > 0 {
			b = append(b, ',')
		}
		enc := base64.RawURLEncoding.EncodeToString(c)
		b = fmt.Appendf(b, `"\u%04x%s"`, enc[0], enc[1:])
	}
	raw := json.RawMessage(append(b, "]}"...))
	return hostileShape{name: "eight-max-size-anchored-escaped", arc: attest.ReasonPAInvalid + ",android_chain",
		evidence: func(*client.Client, string) json.RawMessage { return raw }}
}

// floorShapes are not chains: receipt objects padded to the body limit
// (what any request of that size costs: the body's SHA-256 and JSON
// scans), the padding inside platform_attestation or (-outside) in the
// body's own unknown member, plain ASCII, two-byte UTF-8, escapes (\n,
// and \u00e9), 10,000 unknown members of the object (of the body), or
// arrays nested 30 deep (as deep
// as the body's bound allows) a thousand times over: the JSON each
// reader reads slowest.
func floorShapes() []hostileShape {
	const pad = 61_000
	pads := []struct{ name, value string }{
		{"body-floor-no-chain", `"` + strings.Repeat("A", pad) + `"`},
		{"body-floor-utf8", `"` + strings.Repeat("é", pad/2) + `"`},
		{"body-floor-escapes", `"` + strings.Repeat(`\n`, pad/2) + `"`},
		{"body-floor-unicode-escapes", `"` + strings.Repeat(`\u00e9`, pad/6) + `"`},
		{"body-floor-members", `0,` + strings.Repeat(`"a":0,`, pad/6) + `"b":0`}, // members of the object itself
		{"body-floor-numbers", `[` + strings.Repeat(`0,`, pad/2) + `0]`},
		{"body-floor-strings", `[` + strings.Repeat(`"",`, pad/3) + `""]`},
		{"body-floor-empty-arrays", `[` + strings.Repeat(`[],`, pad/3) + `[]]`},
		{"body-floor-empty-objects", `[` + strings.Repeat(`{},`, pad/3) + `{}]`},
		{"body-floor-nesting", `[` + strings.Repeat(strings.Repeat("[", 29)+strings.Repeat("]", 29)+",", pad/59) + `0]`},
	}
	receipt := json.RawMessage(`{"format":"receipt","receipt":"x"}`)
	var out []hostileShape
	for _, p := range pads {
		raw := json.RawMessage(`{"format":"receipt","receipt":"x","pad":` + p.value + `}`)
		out = append(out, hostileShape{name: p.name, arc: attest.ReasonPAInvalid + ",receipt_malformed",
			evidence: func(*client.Client, string) json.RawMessage { return raw }})
		if p.name != "body-floor-no-chain" {
			out = append(out, hostileShape{name: p.name + "-outside", arc: attest.ReasonPAInvalid + ",receipt_malformed", pad: p.value,
				evidence: func(*client.Client, string) json.RawMessage { return receipt }})
		}
	}
	return out
}

// requests builds n requests carrying s, signed on fresh nonces.
func (s hostileShape) requests(tb testing.TB, p *platformBench, n int) []request {
	tb.Helper()
	var edit func([]byte) []byte
	if s.pad != "" {
		edit = func(body []byte) []byte {
			return append([]byte(`{"pad":`+s.pad+`,`), body[1:]...)
		}
	}
	return p.requestsEdited(tb, testenv.App, n, s.evidence, edit)
}

// paddedShapes are eight-max-size-anchored with the rest of the body
// filled with the JSON its reader reads slowest: unknown members of the
// object ("a":0, six bytes each), or two-byte UTF-8 in an unknown string.
func paddedShapes(hs []platformtest.Hostile) []hostileShape {
	var chain [][]byte
	for _, h := range hs {
		if h.Name == "eight-max-size-anchored" {
			chain = h.Chain
		}
	}
	raw := chainJSON(chain)
	room := 61_000 - len(raw)
	obj := raw[:len(raw)-1] // without its closing brace
	members := json.RawMessage(string(obj) + strings.Repeat(`,"a":0`, room/6) + "}")
	utf8 := json.RawMessage(string(obj) + `,"pad":"` + strings.Repeat("é", room/2) + `"}`)
	arc := attest.ReasonPAInvalid + ",android_chain"
	return []hostileShape{
		{name: "eight-max-size-anchored-padded-members", arc: arc, evidence: func(*client.Client, string) json.RawMessage { return members }},
		{name: "eight-max-size-anchored-padded-utf8", arc: arc, evidence: func(*client.Client, string) json.RawMessage { return utf8 }},
	}
}

func chainJSON(chain [][]byte) json.RawMessage {
	enc := make([]string, len(chain))
	for i, c := range chain {
		enc[i] = base64.RawURLEncoding.EncodeToString(c)
	}
	b, _ := json.Marshal(map[string]any{"format": "android-key", "chain": enc})
	return b
}

// genuineLabel marks the genuine enrolments of BenchmarkHostileChain and
// BenchmarkAttestEnrolAndroid in a CPU profile, and phase=hostile (with
// shape=NAME) the hostile requests alone: with -cpuprofile,
// `go tool pprof -tagfocus=phase=hostile` (or shape=...) shows where a
// hostile request's time goes, without the requests built and signed
// before the timer starts nor the genuine ones run with it stopped.
var genuineLabel = pprof.Labels("phase", "genuine")

// bodyShapes are the bodies of the JSON its readers read slowest, with a
// chain (paddedShapes) or without one (floorShapes): what bounds them is
// the body limit, not the chain's rules.
func bodyShapes(hs []platformtest.Hostile) []hostileShape {
	return append(paddedShapes(hs), floorShapes()...)
}

// BenchmarkHostileChain is a whole attest carrying an attacker's
// android-key chain, on the node of BenchmarkAttestEnrolAndroid (the same
// core, registry and platform checker, trusting its test root), one
// sub-benchmark per shape. PROTOCOL.md's bound is 10 times a genuine attest;
// the goal for a chain is at most one genuine enrolment (x-enrol ≤ 1).
// ns/op is the hostile request alone; in between its batches of 64, with
// the timer stopped, as many genuine enrolments run
// (BenchmarkAttestEnrolAndroid's requests), and x-enrol is hostile time ÷
// enrolment time, a ratio that other work on a shared machine slows alike
// on both sides.
func BenchmarkHostileChain(b *testing.B) {
	p := newPlatformBench(b)
	runHostile(b, p, p.hostileShapes(b))
}

// BenchmarkHostileBody is BenchmarkHostileChain for bodyShapes: a body of
// 64 KiB, as much as an attest may carry, of the JSON the scanners read
// slowest. What such a body costs is bounded by its size, at about a
// nanosecond a byte at worst: without a chain at most 0.84 genuine
// enrolments (10,000 unknown members, nesting, two-byte UTF-8); beside
// the largest chain 1.18, the chain alone being 0.94 and most of the rest
// the longer body's hash: about 4 genuine attests, within PROTOCOL.md's
// bound of 10.
func BenchmarkHostileBody(b *testing.B) {
	p := newPlatformBench(b)
	runHostile(b, p, bodyShapes(p.hostileChains(b)))
}

// runHostile runs one sub-benchmark per shape, as BenchmarkHostileChain
// says.
func runHostile(b *testing.B, p *platformBench, shapes []hostileShape) {
	for _, s := range shapes {
		b.Run(s.name, func(b *testing.B) {
			hostile := s.requests(b, p, b.N)
			genuine := p.requests(b, b.N, p.androidEvidence(b))
			dst := make([]byte, 0, 4096)
			ctx := context.Background()
			hostileLabel := pprof.Labels("phase", "hostile", "shape", s.name)
			var th, tg time.Duration
			b.ReportAllocs()
			b.ResetTimer()
			for done := 0; done < b.N; done += pairBatch {
				k := min(pairBatch, b.N-done)
				t0 := time.Now()
				pprof.Do(ctx, hostileLabel, func(context.Context) {
					for i := done; i < done+k; i++ {
						dst = p.attest(b, hostile[i], dst)
					}
				})
				t1 := time.Now()
				b.StopTimer()
				pprof.Do(ctx, genuineLabel, func(context.Context) {
					for i := done; i < done+k; i++ {
						dst = p.attest(b, genuine[i], dst)
					}
				})
				tg += time.Since(t1)
				th += t1.Sub(t0)
				b.StartTimer()
			}
			b.ReportMetric(float64(th)/float64(tg), "x-enrol")
		})
	}
}

// TestHostileChainAttestRefused: what BenchmarkHostileChain measures are
// failed verdicts with the precise reason of each shape, answered 200 with
// a token (§7: never a 400), within the body limit.
func TestHostileChainAttestRefused(t *testing.T) {
	p := newPlatformBench(t)
	for _, s := range append(p.hostileShapes(t), bodyShapes(p.hostileChains(t))...) {
		t.Run(s.name, func(t *testing.T) {
			r := s.requests(t, p, 1)[0]
			if len(r.body) > attest.MaxBodyBytes {
				t.Fatalf("body of %d bytes, over the limit", len(r.body))
			}
			if got := arcOf(t, tokenOf(t, p.attest(t, r, nil))); got != s.arc {
				t.Fatalf("arc %q, want %q", got, s.arc)
			}
		})
	}
}

// arcOf reads the arc claim of a token without verifying it (a failed
// verdict is signed with the account's decoy key).
func arcOf(t *testing.T, tok []byte) string {
	t.Helper()
	parts := bytes.Split(tok, []byte("."))
	if len(parts) != 3 {
		t.Fatalf("token %q", tok)
	}
	payload, err := base64.RawURLEncoding.DecodeString(string(parts[1]))
	if err != nil {
		t.Fatal(err)
	}
	var c struct {
		Arc *string `json:"arc"`
	}
	if err := json.Unmarshal(payload, &c); err != nil || c.Arc == nil {
		t.Fatalf("no arc in %s (%v)", payload, err)
	}
	return *c.Arc
}
