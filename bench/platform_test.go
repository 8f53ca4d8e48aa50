package bench

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/attestd/attestd/client"
	"github.com/attestd/attestd/crypto/secret"
	"github.com/attestd/attestd/crypto/token"
	"github.com/attestd/attestd/internal/attest"
	"github.com/attestd/attestd/internal/platformcheck"
	"github.com/attestd/attestd/internal/replay"
	"github.com/attestd/attestd/internal/testenv"
	"github.com/attestd/attestd/verify/androidkey"
	"github.com/attestd/attestd/verify/platformtest"
)

// platformBench is the benchmark node with platform attestation on: the
// same registry, a core whose platform checker trusts a test Android root.
type platformBench struct {
	*env
	edge *attest.Edge
	ca   *platformtest.AndroidCA
	chk  *platformcheck.Checker
}

func newPlatformBench(tb testing.TB) *platformBench {
	tb.Helper()
	e := newEnv(tb)
	ca, err := platformtest.NewAndroidCA()
	if err != nil {
		tb.Fatal(err)
	}
	chk, err := platformcheck.New(platformcheck.Config{AndroidRoots: ca.Roots(), ReceiptTTL: time.Hour, Keys: e.reg,
		Status: platformcheck.StatusPolicy{Configured: true, MaxAge: 24 * time.Hour, FailClosed: true}})
	if err != nil {
		tb.Fatal(err)
	}
	chk.SetStatus(benchStatusList(tb, 5000), time.Now())
	rs, err := replay.New(replay.Config{MaxEntries: 2_000_000, Window: attest.MaxNonceTTL + time.Minute})
	if err != nil {
		tb.Fatal(err)
	}
	edge, err := attest.New(attest.Config{Now: time.Now, Rand: rand.Reader, Registry: e.reg, Replay: rs,
		NonceTTL: attest.MaxNonceTTL, Observer: e.metrics, Platform: chk})
	if err != nil {
		tb.Fatal(err)
	}
	return &platformBench{env: e, edge: edge, ca: ca, chk: chk}
}

// benchStatusList is a status list of n random serials, the size of
// Google's (a few thousand entries), naming none of the test chain's.
func benchStatusList(tb testing.TB, n int) *androidkey.StatusList {
	tb.Helper()
	var b strings.Builder
	b.WriteString(`{"entries":{`)
	serial := make([]byte, 16)
	for i := 0; i < n; i++ {
		rand.Read(serial)
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `"%x":{"status":"REVOKED","reason":"KEY_COMPROMISE"}`, serial)
	}
	b.WriteString(`}}`)
	l, err := androidkey.ParseStatusList([]byte(b.String()))
	if err != nil {
		tb.Fatal(err)
	}
	return l
}

// requests builds n requests of the HS256 app's devices in turn, each with
// the platform_attestation evidence(device, nonce) returns.
func (p *platformBench) requests(tb testing.TB, n int, evidence func(c *client.Client, nonce string) json.RawMessage) []request {
	tb.Helper()
	return p.requestsWith(tb, testenv.App, n, evidence)
}

func (p *platformBench) androidEvidence(tb testing.TB) func(c *client.Client, nonce string) json.RawMessage {
	var signer [32]byte
	copy(signer[:], p.f.Signer)
	return func(c *client.Client, nonce string) json.RawMessage {
		ev, err := p.ca.AndroidEvidence(&c.DeviceKey().PublicKey, []byte(nonce), testenv.App, signer)
		if err != nil {
			tb.Fatal(err)
		}
		return ev
	}
}

func (p *platformBench) attest(tb testing.TB, r request, dst []byte) []byte {
	out, err := p.edge.AppendAttest(context.Background(), dst[:0], attest.Input{ContentType: contentJSON, Body: r.body, Signature: r.sig})
	if err != nil {
		tb.Fatal(err)
	}
	return out
}

// receipts enrols every device of the HS256 app once and returns their
// receipts, by device.
func (p *platformBench) receipts(tb testing.TB) map[*client.Client]string {
	tb.Helper()
	out := map[*client.Client]string{}
	devs := p.apps[testenv.App]
	for i, r := range p.requests(tb, len(devs), p.androidEvidence(tb)) {
		var a struct{ Receipt string }
		if err := json.Unmarshal(p.attest(tb, r, nil), &a); err != nil || a.Receipt == "" {
			tb.Fatalf("enrolment gave no receipt (%v)", err)
		}
		out[devs[i]] = a.Receipt
	}
	return out
}

// BenchmarkAttestEnrolAndroid is a whole attest carrying android-key
// evidence (a chain of three certificates verified, the key description
// parsed and checked) that issues a receipt. Beside BenchmarkAttestFloor.
func BenchmarkAttestEnrolAndroid(b *testing.B) {
	p := newPlatformBench(b)
	reqs := p.requests(b, b.N, p.androidEvidence(b))
	dst := make([]byte, 0, 4096)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		dst = p.attest(b, reqs[i], dst)
	}
}

// BenchmarkAttestReceipt is a whole attest carrying a receipt (§7): a MAC,
// the binding and the policy instead of a chain, and (§9) the status list's
// age and each serial of the receipt's chain looked up in a list of 5000
// entries. Goal: within 1.15× of BenchmarkAttestFloor.
func BenchmarkAttestReceipt(b *testing.B) {
	p := newPlatformBench(b)
	rs := p.receipts(b)
	reqs := p.requests(b, b.N, func(c *client.Client, _ string) json.RawMessage {
		ev, _ := json.Marshal(map[string]string{"format": "receipt", "receipt": rs[c]})
		return ev
	})
	dst := make([]byte, 0, 4096)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		dst = p.attest(b, reqs[i], dst)
	}
}

// TestReceiptAttestPasses: the receipt benchmark measures passing verdicts,
// whose receipts are checked against the status list (a list that revokes
// the chain's intermediate refuses them).
func TestReceiptAttestPasses(t *testing.T) {
	p := newPlatformBench(t)
	rs := p.receipts(t)
	hk, err := token.NewHMACKey(testenv.KIDHS, secret.New(p.f.HSKey))
	if err != nil {
		t.Fatal(err)
	}
	ks, err := token.NewKeySet(hk)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range p.requests(t, 4, func(c *client.Client, _ string) json.RawMessage {
		ev, _ := json.Marshal(map[string]string{"format": "receipt", "receipt": rs[c]})
		return ev
	}) {
		tok := tokenOf(t, p.attest(t, r, nil))
		var v token.Verified
		if err := ks.Verify(tok, token.Options{Audience: testenv.Account, Issuer: "attestd"}, &v); err != nil {
			t.Fatalf("receipt attest did not pass: %v", err)
		}
	}
	l, err := androidkey.ParseStatusList([]byte(fmt.Sprintf(`{"entries":{"%x":{"status":"REVOKED"}}}`, p.ca.Intermediate.SerialNumber)))
	if err != nil {
		t.Fatal(err)
	}
	p.chk.SetStatus(l, time.Now())
	for _, r := range p.requests(t, 1, func(c *client.Client, _ string) json.RawMessage {
		ev, _ := json.Marshal(map[string]string{"format": "receipt", "receipt": rs[c]})
		return ev
	}) {
		var v token.Verified
		if err := ks.Verify(tokenOf(t, p.attest(t, r, nil)), token.Options{Audience: testenv.Account, Issuer: "attestd"}, &v); err == nil {
			t.Fatal("a receipt through a revoked intermediate passed")
		}
	}
}

// BenchmarkPairedReceipt is BenchmarkAttestReceipt against
// BenchmarkAttestFloor interleaved in batches (as BenchmarkPaired does), so
// that a shared machine's load slows both alike: x-floor is the receipt
// attest's time ÷ the floor's (goal ≤ 1.15).
func BenchmarkPairedReceipt(b *testing.B) {
	p := newPlatformBench(b)
	rs := p.receipts(b)
	reqs := p.requests(b, b.N, func(c *client.Client, _ string) json.RawMessage {
		ev, _ := json.Marshal(map[string]string{"format": "receipt", "receipt": rs[c]})
		return ev
	})
	floor := newFloor(b, p.env, token.HS256)
	dst := make([]byte, 0, 4096)
	i := 0
	b.ReportAllocs()
	b.ResetTimer()
	ta, tf := pair(b.N, pairBatch, func(k int) {
		for ; k > 0; k-- {
			dst = p.attest(b, reqs[i], dst)
			i++
		}
	}, func(k int) {
		for ; k > 0; k-- {
			if err := floor(); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.ReportMetric(float64(ta)/float64(tf), "x-floor")
	b.ReportMetric(float64(ta)/float64(b.N), "receipt-ns/op")
	b.ReportMetric(float64(tf)/float64(b.N), "floor-ns/op")
}
