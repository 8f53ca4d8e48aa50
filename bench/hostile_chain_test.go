package bench

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/attestd/attestd/client"
	"github.com/attestd/attestd/internal/attest"
	"github.com/attestd/attestd/internal/testenv"
	"github.com/attestd/attestd/verify/platformtest"
)

// hostileShape is one attacker's android-key evidence and the arc of the
// failed verdict it must get.
type hostileShape struct {
	name     string
	evidence func(c *client.Client, nonce string) json.RawMessage
	arc      string
}

// hostileShapes are the chains of platformtest.HostileChains against the
// benchmark node's root (a 120,000-bit RSA key with e = 2^31-1 under a
// 15,000-byte signature, e = 2^31-1 on 2048 bits, 16,384 bits, SHA-1,
// Ed25519, P-521, eight certificates filling the 64 KiB body anchored at a
// copy of the root with the one under it forged, a forged intermediate
// naming the root, nine certificates, one over 16 KiB), and a replayed
// genuine chain (the device's own, made for another nonce: every signature
// holds, the key description is parsed, the challenge fails), and beside
// them body-floor-no-chain, a receipt object padded to the body limit
// without any chain: what any request of that size costs. Each request
// is signed by its device on a fresh nonce, so it reaches the platform
// check, as an attacker's would for the price of one nonce.
func (p *platformBench) hostileShapes(tb testing.TB) []hostileShape {
	tb.Helper()
	leaf, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	hs, err := platformtest.HostileChains(p.ca.Root, p.ca.RootKey, &leaf.PublicKey)
	if err != nil {
		tb.Fatal(err)
	}
	arcs := map[string]string{
		"nine-certificates":     "platform_malformed",
		"oversized-certificate": "platform_malformed",
		"forged-under-root":     "android_root",
	}
	var out []hostileShape
	for _, h := range hs {
		raw := chainJSON(h.Chain)
		arc, ok := arcs[h.Name]
		if !ok {
			arc = "android_chain"
		}
		out = append(out, hostileShape{name: h.Name, arc: attest.ReasonPAInvalid + "," + arc,
			evidence: func(*client.Client, string) json.RawMessage { return raw }})
	}
	// Not a chain: the floor of any request as large as the largest chain,
	// a receipt object padded to the body limit, which every attest of
	// that size costs (the body's SHA-256 and JSON scans).
	floor := json.RawMessage(`{"format":"receipt","receipt":"x","pad":"` + strings.Repeat("A", 61_000) + `"}`)
	out = append(out, hostileShape{name: "body-floor-no-chain", arc: attest.ReasonPAInvalid + ",receipt_malformed",
		evidence: func(*client.Client, string) json.RawMessage { return floor }})
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

func chainJSON(chain [][]byte) json.RawMessage {
	enc := make([]string, len(chain))
	for i, c := range chain {
		enc[i] = base64.RawURLEncoding.EncodeToString(c)
	}
	b, _ := json.Marshal(map[string]any{"format": "android-key", "chain": enc})
	return b
}

// BenchmarkHostileChain is a whole attest carrying an attacker's
// android-key chain, on the node of BenchmarkAttestEnrolAndroid (the same
// core, registry and platform checker, trusting its test root), one
// sub-benchmark per shape. PROTOCOL.md's bound is 10 times a genuine attest;
// the goal here is at most one genuine enrolment. ns/op is the hostile
// request alone; in between its batches of 64, with the timer stopped,
// as many genuine enrolments run (BenchmarkAttestEnrolAndroid's requests),
// and x-enrol is hostile time ÷ enrolment time, a ratio that other work on
// a shared machine slows alike on both sides.
func BenchmarkHostileChain(b *testing.B) {
	p := newPlatformBench(b)
	for _, s := range p.hostileShapes(b) {
		b.Run(s.name, func(b *testing.B) {
			hostile := p.requests(b, b.N, s.evidence)
			genuine := p.requests(b, b.N, p.androidEvidence(b))
			dst := make([]byte, 0, 4096)
			var th, tg time.Duration
			b.ReportAllocs()
			b.ResetTimer()
			for done := 0; done < b.N; done += pairBatch {
				k := min(pairBatch, b.N-done)
				t0 := time.Now()
				for i := done; i < done+k; i++ {
					dst = p.attest(b, hostile[i], dst)
				}
				t1 := time.Now()
				b.StopTimer()
				for i := done; i < done+k; i++ {
					dst = p.attest(b, genuine[i], dst)
				}
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
	for _, s := range p.hostileShapes(t) {
		t.Run(s.name, func(t *testing.T) {
			r := p.requests(t, 1, s.evidence)[0]
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
