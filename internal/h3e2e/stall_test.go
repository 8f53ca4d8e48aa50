package h3e2e

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"net/http"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/quic-go/quic-go/http3"

	"github.com/attestd/attestd/client"
	"github.com/attestd/attestd/daemon"
	"github.com/attestd/attestd/internal/testenv"
	"github.com/attestd/attestd/internal/testenv/h3test"
	"github.com/attestd/attestd/internal/testenv/poll"
)

// The stall tests run a node in the test's process, so that its goroutines
// and heap are the process's, with a read timeout short enough for a test
// (stallBounds).
const (
	stallConns   = 4
	stallRead    = 5 * time.Second
	stallMargin  = 20 * time.Second // a loaded machine's delay past the deadline
	attestPath   = "/v1/attest"
	declaredBody = 64 << 10
	sentBody     = 1 << 10
)

// stallNode starts a node serving HTTP/3 with the stall tests' bounds and
// a bound on requests in flight (so that attestd_limit_in_flight counts).
func stallNode(t *testing.T, f *testenv.Fixture, c *h3test.Cert, edit func(*daemon.Config)) *testenv.Node {
	t.Helper()
	return testenv.StartNode(t, testenv.NewStore(t, f), h3test.TLSOptions(c, testenv.Options{Edit: func(cfg *daemon.Config) {
		cfg.Limits.MaxInFlight = 4096
		stallBounds(cfg)
		if edit != nil {
			edit(cfg)
		}
	}}))
}

// stallTargets are the targets the stalls are sent to: /v1/attest, and
// spellings of the proxy's prefix that a decoder or normaliser makes
// /v1/proxy/… but that are not the proxy's as sent (the API's handler
// reads their bodies): they get the read timeout, never the proxy's
// stream timeout (its default, 10 minutes, in these tests).
var stallTargets = []string{
	attestPath,
	"/v1/%70roxy/maps/upload",
	"/v1%2Fproxy/maps/upload",
	"//v1/proxy/maps/upload",
	"/v1/./proxy/maps/upload",
	"/v1/PROXY/maps/upload",
}

// TestHTTP3StalledBodiesAreCut is the slow-body attack over HTTP/3: many
// connections, kept alive by PINGs, each with as many streams as the node
// lets it open, each sending the header of POST /v1/attest (or of one of
// stallTargets) with
// Content-Length 64 KiB, 1 KiB of the body, then nothing. While they are
// held the requests in flight count them and genuine attests over HTTP/3
// keep passing; every one of them is ended within the read deadline (and
// a margin); afterwards the goroutines are back to where they were and
// the heap has not kept what the stalls held.
func TestHTTP3StalledBodiesAreCut(t *testing.T) {
	f := testenv.NewFixture(t)
	c := h3test.NewCert(t, t.TempDir(), "node")
	n := stallNode(t, f, c, nil)
	addr := n.D.HTTP3Addr().String()
	g0, h0 := settled()

	perConn := stallStreams()
	var stalls []*h3test.Stall
	var conns []*h3test.RawConn
	for range stallConns {
		rc, err := h3test.DialRaw(t, c.Pool, addr)
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, rc)
		for range perConn {
			url := "https://" + addr + stallTargets[len(stalls)%len(stallTargets)]
			s, err := rc.Stall(url, http.Header{"Content-Type": {"application/json"}}, declaredBody, sentBody)
			if err != nil {
				t.Fatal(err)
			}
			stalls = append(stalls, s)
		}
	}
	start := time.Now()
	held := len(stalls)
	waitMetric(t, n.Admin, "attestd_limit_in_flight", float64(held), stallRead)
	gHeld, hHeld := settled()
	if hHeld > h0+uint64(held)*perStallHeap {
		t.Errorf("heap in use %.1f MiB while %d stalls are held, %.1f before: more than %d KiB each (client and node)",
			mib(hHeld), held, mib(h0), perStallHeap>>10)
	}

	// Genuine attests over HTTP/3 pass while the stalls are held.
	tr := &http3.Transport{TLSClientConfig: &tls.Config{RootCAs: c.Pool}}
	defer tr.Close()
	genuine, err := client.New(client.Config{BaseURL: h3test.H3Base(n), App: f.ClientApp(testenv.App),
		HTTP: &http.Client{Transport: tr, Timeout: 10 * time.Second}, Now: n.Clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if _, err := genuine.Attest(t.Context(), client.Evidence{}); err != nil {
			t.Fatalf("genuine attest %d during the stall: %v", i, err)
		}
	}

	// Every stalled stream ends within the read deadline and a margin.
	bound := time.After(time.Until(start.Add(stallRead + stallMargin)))
	statuses := map[string]int{}
	for i, s := range stalls {
		select {
		case <-s.Ended:
			statuses[fmt.Sprintf("%d %v", s.Status, s.Err != nil)]++
		case <-bound:
			t.Fatalf("%d of %d stalled streams still open %v after they began (read timeout %v)", held-i, held, time.Since(start).Round(time.Second), stallRead)
		}
	}
	ended := time.Since(start)
	for _, s := range stalls {
		s.Stop()
	}
	closeAll(conns)
	tr.Close()
	waitMetric(t, n.Admin, "attestd_limit_in_flight", 0, 5*time.Second)
	g1, h1 := settleTo(g0, 10*time.Second)
	t.Logf("%d stalled streams over %d connections: goroutines %d before, %d held, %d after; heap in use %.1f MiB before, %.1f held, %.1f after; all ended %v after they began; answers %v",
		held, stallConns, g0, gHeld, g1, mib(h0), mib(hHeld), mib(h1), ended.Round(100*time.Millisecond), statuses)
	if g1 > g0+goroutineSlack {
		t.Errorf("goroutines %d after the stall, %d before: the stall's are not all gone", g1, g0)
	}
	if h1 > h0+heapSlack {
		t.Errorf("heap in use %.1f MiB after the stall, %.1f before", mib(h1), mib(h0))
	}
}

// TestHTTP3StalledBodiesAreShedPastMaxInFlight: over HTTP/3 a request is
// admitted before its body is read, so stalled bodies hold places among
// the requests in flight: with the bound reached by them, a new request
// is answered 503 overloaded (not left to pile up), and once they are cut
// requests pass again.
func TestHTTP3StalledBodiesAreShedPastMaxInFlight(t *testing.T) {
	const bound = 8
	f := testenv.NewFixture(t)
	c := h3test.NewCert(t, t.TempDir(), "node")
	n := stallNode(t, f, c, func(cfg *daemon.Config) { cfg.Limits.MaxInFlight = bound })
	addr := n.D.HTTP3Addr().String()
	rc, err := h3test.DialRaw(t, c.Pool, addr)
	if err != nil {
		t.Fatal(err)
	}
	var stalls []*h3test.Stall
	for i := range bound {
		s, err := rc.Stall("https://"+addr+stallTargets[i%len(stallTargets)], http.Header{"Content-Type": {"application/json"}}, declaredBody, sentBody)
		if err != nil {
			t.Fatal(err)
		}
		stalls = append(stalls, s)
	}
	t.Cleanup(func() {
		for _, s := range stalls {
			s.Stop()
		}
	})
	waitMetric(t, n.Admin, "attestd_limit_in_flight", bound, stallRead)
	other, err := h3test.DialRaw(t, c.Pool, addr)
	if err != nil {
		t.Fatal(err)
	}
	if st := status(t, other, addr); st != http.StatusServiceUnavailable {
		t.Errorf("a request while stalled bodies hold every place: %d, want 503", st)
	}
	for _, s := range stalls {
		select {
		case <-s.Ended:
		case <-time.After(stallRead + stallMargin):
			t.Fatal("a stalled body was not cut")
		}
	}
	waitMetric(t, n.Admin, "attestd_limit_in_flight", 0, 5*time.Second)
	if st := status(t, other, addr); st != http.StatusNotFound {
		t.Errorf("a request once the stalled bodies were cut: %d, want 404", st)
	}
}

// status is the status of GET /v1/accounts/none/jwks.json on rc.
func status(t *testing.T, rc *h3test.RawConn, addr string) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "https://"+addr+"/v1/accounts/none/jwks.json", nil)
	resp, err := rc.CC.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// Slack for the process's own churn (timers, the runtime, the client's
// idle pools) when comparing before and after.
const (
	goroutineSlack = 8
	heapSlack      = 16 << 20
	// perStallHeap bounds what one stalled request may hold, the test's
	// client included: a body buffer (64 KiB at most), stream buffers
	// (the 1 KiB sent), goroutines.
	perStallHeap = 256 << 10
)

func mib(b uint64) float64 { return float64(b) / (1 << 20) }

func heapInuse() uint64 {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse
}

// settled collects garbage (twice: what sync.Pools hold survives one) and
// returns the goroutines and heap in use.
func settled() (int, uint64) {
	runtime.GC()
	runtime.GC()
	return runtime.NumGoroutine(), heapInuse()
}

// settleTo waits, at most d, for the goroutines to fall to want plus the
// slack; it returns the last count and the heap in use then.
func settleTo(want int, d time.Duration) (g int, h uint64) {
	poll.For(d, func() bool { g, h = settled(); return g <= want+goroutineSlack })
	return g, h
}

// waitMetric waits, at most d, until the admin listener's /metrics has
// name (without labels) at want; it fails the test otherwise.
func waitMetric(t *testing.T, admin, name string, want float64, d time.Duration) {
	t.Helper()
	var got float64
	if !poll.For(d, func() bool { got = metric(t, admin, name); return got == want }) {
		t.Fatalf("%s is %v after %v, want %v", name, got, d, want)
	}
}

// metric reads one sample of /metrics (the first whose series begins with
// name); -1 when there is none.
func metric(t *testing.T, admin, name string) float64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, admin+"/metrics", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		series, v, ok := strings.Cut(sc.Text(), " ")
		if ok && series == name {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatalf("%s: %v", sc.Text(), err)
			}
			return f
		}
	}
	return -1
}

// closeAll closes connections in parallel (a helper of the tests below).
func closeAll(cs []*h3test.RawConn) {
	var wg sync.WaitGroup
	for _, c := range cs {
		wg.Go(func() { _ = c.QC.CloseWithError(0, "") })
	}
	wg.Wait()
}
