package e2e

import (
	"bufio"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/attestd/attestd/client"
	"github.com/attestd/attestd/daemon"
	"github.com/attestd/attestd/internal/testenv"
	"github.com/attestd/attestd/internal/testenv/h3test"
	"github.com/attestd/attestd/internal/testenv/poll"
)

// secondToken attests a new device of the genuine app of f on n and
// returns its token: another did than the fixture's token.
func secondToken(t *testing.T, n *testenv.Node, f *testenv.Fixture) string {
	t.Helper()
	e := &env{t: t, f: f, node: n, tr: http1()}
	cl := e.client(testenv.App)
	return decodeVerdict(t, e.attest(cl, e.body(cl, e.nonce(cl), client.Evidence{}))).Token
}

// TestOneTokenCannotFillTheProxyPool is the one-token denial of the
// proxy: one token holder trickles proxied uploads (over HTTP/3 and
// HTTP/1.1), each held for the proxy's stream timeout, to fill the
// node's places for proxied requests (--proxy-max-in-flight 8) and have
// every other app's and account's proxied requests answered overloaded.
// With --proxy-max-in-flight-per-device 2 its first two uploads take two
// places, and every further one is answered 429 rate_limited with
// Retry-After 1, holds no place and reaches no upstream, over either
// transport; another device's token still gets its proxied requests
// through, over both. Before, every upload took a place of the pool,
// and once it was full the other device was answered overloaded.
func TestOneTokenCannotFillTheProxyPool(t *testing.T) {
	const pool, share = 8, 2
	n, c, up, token, f := proxyH3NodeFixture(t, func(cfg *daemon.Config) {
		proxyBounds(cfg, proxyRead, time.Minute) // the uploads are ended by the test
		cfg.Limits.ProxyMaxInFlight = pool
		cfg.Limits.ProxyMaxInFlightPerDevice = share
	})
	victim := secondToken(t, n, f)
	addr := n.D.HTTP3Addr().String()
	rc, err := h3test.DialRaw(t, c.Pool, addr)
	if err != nil {
		t.Fatal(err)
	}
	stall := func() *h3test.Stall { return stallUpload(t, rc, addr, token, 64<<10) }
	first := stall()
	conn := stallHTTP1Upload(t, n, token)
	defer conn.Close()
	proxyInFlight(t, n, share)

	// As many more uploads as the pool has places, one after the other:
	// each is refused at once. Before the fix, each took a place until the
	// pool was full, and was never answered; the test waits for those 10 s
	// in all, not each.
	refused := 0
	deadline := time.Now().Add(10 * time.Second)
	for i := range pool {
		s := stall()
		ended := poll.For(time.Until(deadline), func() bool {
			select {
			case <-s.Ended:
				return true
			default:
				return false
			}
		})
		if !ended {
			t.Errorf("upload %d past the token's share was not refused: it holds a place of the pool (%v held)", share+1+i, metric(t, n, proxyGauge))
			continue
		}
		if s.Status != http.StatusTooManyRequests {
			t.Errorf("upload %d past the token's share: status %d (%v), want 429", share+1+i, s.Status, s.Err)
			continue
		}
		refused++
	}
	h1 := stallHTTP1Upload(t, n, token)
	defer h1.Close()
	_ = h1.SetReadDeadline(time.Now().Add(stallMargin))
	if resp, err := http.ReadResponse(bufio.NewReader(h1), nil); err != nil {
		t.Errorf("an HTTP/1.1 upload past the token's share: %v, want 429", err)
	} else {
		resp.Body.Close()
		if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") != "1" {
			t.Errorf("an HTTP/1.1 upload past the token's share: %d (Retry-After %q), want 429, Retry-After 1", resp.StatusCode, resp.Header.Get("Retry-After"))
		} else {
			refused++
		}
	}
	for name, g := range proxiedGets(t, n, c, token) {
		st, h, body := g()
		if st != http.StatusTooManyRequests || !strings.Contains(string(body), `"rate_limited"`) || h.Get("Retry-After") != "1" {
			t.Errorf("%s: the token's request at its share: %d %s (Retry-After %q), want 429 rate_limited, Retry-After 1", name, st, body, h.Get("Retry-After"))
			continue
		}
		refused++
	}
	if hits := up.Take(); len(hits) != 0 {
		t.Errorf("the upstream received %d requests past the token's share", len(hits))
	}
	if held := metric(t, n, proxyGauge); held != share {
		t.Errorf("places held by the token: %v, want %d", held, share)
	}
	if got := metric(t, n, `attestd_limit_refused_total{limit="proxy_device"}`); got != float64(refused) {
		t.Errorf(`attestd_limit_refused_total{limit="proxy_device"} = %v, want %d`, got, refused)
	}

	get := proxiedGets(t, n, c, victim)
	for name, g := range get {
		if st, _, body := g(); st != http.StatusOK {
			t.Errorf("%s: another device's request while the token holds its share: %d %s, want 200", name, st, body)
		}
	}
	if hits := up.Take(); len(hits) != len(get) {
		t.Errorf("the upstream received %d of the other device's %d requests", len(hits), len(get))
	}

	first.Stop()
	conn.Close()
	proxyInFlight(t, n, 0)
	for name, g := range proxiedGets(t, n, c, token) {
		if st, _, body := g(); st != http.StatusOK {
			t.Errorf("%s: the token once its uploads ended: %d %s", name, st, body)
		}
	}
}
