package bench

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"testing"
	"time"

	"github.com/attestd/attestd/client"
	"github.com/attestd/attestd/internal/attest"
	"github.com/attestd/attestd/internal/metrics"
	"github.com/attestd/attestd/internal/registry"
	"github.com/attestd/attestd/internal/replay"
	"github.com/attestd/attestd/internal/testenv"
	"github.com/attestd/attestd/store/open"
)

// env is one edge node in process, built as the daemon builds it: a real
// file store holding the fixture's registry, loaded into a registry view
// (registry.New + Swap), a replay set, the metrics observer, and the core.
type env struct {
	f       *testenv.Fixture
	reg     *registry.Registry
	edge    *attest.Edge
	metrics *metrics.Metrics
	// apps holds each benchmarked app's devices, used in turn.
	apps map[string][]*client.Client
}

// devicesPerApp is how many device keys each app's request pool rotates
// through, so no key is parsed twice in a row.
const devicesPerApp = 16

func newEnv(tb testing.TB) *env {
	tb.Helper()
	return newEnvWith(tb, nil)
}

// newEnvWith is newEnv with the fixture's registry edited by edit (nil:
// as it is) before the store is made.
func newEnvWith(tb testing.TB, edit func(*testenv.Fixture)) *env {
	tb.Helper()
	f := testenv.NewFixture(tb)
	if edit != nil {
		edit(f)
	}
	st := testenv.NewStore(tb, f)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, sealer, err := open.Open(ctx, st.URL, open.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	defer s.Close()
	snap, err := s.Load(ctx)
	if err != nil {
		tb.Fatal(err)
	}
	reg, err := registry.New(registry.Config{Sealer: sealer})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(reg.Close)
	if err := reg.Swap(snap); err != nil {
		tb.Fatal(err)
	}
	// The daemon's replay set: 2 M entries by default. The benchmarks
	// use fresh nonces, never more than a few hundred thousand per run.
	rs, err := replay.New(replay.Config{MaxEntries: 2_000_000, Window: attest.MaxNonceTTL + time.Minute})
	if err != nil {
		tb.Fatal(err)
	}
	m := metrics.New(time.Now, reg.CacheStats)
	// The longest nonce lifetime, so that a large pre-signed pool does not
	// expire before the benchmark reaches its end.
	edge, err := attest.New(attest.Config{
		Now: time.Now, Rand: rand.Reader, Registry: reg, Replay: rs, NonceTTL: attest.MaxNonceTTL, Observer: m,
	})
	if err != nil {
		tb.Fatal(err)
	}
	e := &env{f: f, reg: reg, edge: edge, metrics: m, apps: map[string][]*client.Client{}}
	for _, app := range []string{testenv.App, testenv.AppES, testenv.AppEd} {
		for i := 0; i < devicesPerApp; i++ {
			k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
			if err != nil {
				tb.Fatal(err)
			}
			c, err := client.New(client.Config{BaseURL: "http://127.0.0.1:0", App: f.ClientApp(app), DeviceKey: k})
			if err != nil {
				tb.Fatal(err)
			}
			e.apps[app] = append(e.apps[app], c)
		}
	}
	// Warm the caches: the first attest of each app compiles it and its
	// account (keys parsed and self-tested); the benchmarks measure warm.
	for app := range e.apps {
		for _, r := range e.requests(tb, app, 2) {
			if _, err := e.attest(r, nil); err != nil {
				tb.Fatalf("warm-up attest of %s: %v", app, err)
			}
		}
	}
	return e
}

// request is one pre-signed attest request.
type request struct {
	body []byte
	sig  []byte
}

// requests builds n attest requests for app, each on a fresh nonce issued
// by the edge, with passing evidence, signed by the app's devices in turn.
func (e *env) requests(tb testing.TB, app string, n int) []request {
	return e.requestsWith(tb, app, n, nil)
}

// requestsWith is requests with platform_attestation evidence(device,
// nonce) in each body (nil: none). Nonces verify on any core built on the
// same registry, as on any node of a deployment.
func (e *env) requestsWith(tb testing.TB, app string, n int, evidence func(c *client.Client, nonce string) json.RawMessage) []request {
	tb.Helper()
	return e.requestsEdited(tb, app, n, evidence, nil)
}

// requestsEdited is requestsWith with each body passed through edit (nil:
// as built) before it is signed.
func (e *env) requestsEdited(tb testing.TB, app string, n int, evidence func(c *client.Client, nonce string) json.RawMessage, edit func([]byte) []byte) []request {
	tb.Helper()
	devs := e.apps[app]
	out := make([]request, n)
	var buf []byte
	for i := range out {
		var err error
		if buf, err = e.edge.AppendChallenge(context.Background(), buf[:0]); err != nil {
			tb.Fatal(err)
		}
		var ch struct{ Nonce string }
		if err := json.Unmarshal(buf, &ch); err != nil {
			tb.Fatal(err)
		}
		c := devs[i%len(devs)]
		var ev client.Evidence
		if evidence != nil {
			ev.PlatformAttestation = evidence(c, ch.Nonce)
		}
		body, err := c.Body(ch.Nonce, ev)
		if err != nil {
			tb.Fatal(err)
		}
		if edit != nil {
			body = edit(body)
		}
		sig, err := c.Sign(body)
		if err != nil {
			tb.Fatal(err)
		}
		out[i] = request{body: body, sig: []byte(sig)}
	}
	return out
}

var contentJSON = []byte("application/json")

func (e *env) attest(r request, dst []byte) ([]byte, error) {
	return e.edge.AppendAttest(context.Background(), dst[:0], attest.Input{ContentType: contentJSON, Body: r.body, Signature: r.sig})
}

// tokenOf returns the token of an attest answer.
func tokenOf(tb testing.TB, answer []byte) []byte {
	tb.Helper()
	const pre = `{"token":"`
	if !bytes.HasPrefix(answer, []byte(pre)) {
		tb.Fatalf("answer %q has no token", answer)
	}
	rest := answer[len(pre):]
	return append([]byte(nil), rest[:bytes.IndexByte(rest, '"')]...)
}
