package androidstatus_test

import (
	"math"
	"testing"
	"time"

	"github.com/attestd/attestd/internal/androidstatus"
)

// jitters are the draws of the jitter source tried: its ends (0, and just
// below 1, the largest math/rand/v2's Float64 returns), in between, and
// what a faulty source might return (1, above, below 0, NaN).
var jitters = []float64{0, math.SmallestNonzeroFloat64, 1e-9, 0.25, 0.5, 0.75, 1 - 1e-9, math.Nextafter(1, 0), 1, 1.5, -0.5, math.NaN()}

// TestBackoffJitterStaysWithinBounds: with the jitter source at each of
// jitters, a keeper failing every fetch retries after delays between half
// and all of backoffBase doubled per failure, capped at the refresh
// (Config.BackoffBase), growing to the cap and staying there; and once a
// fetch succeeds, the next is between 0.9 and 1 times the refresh.
func TestBackoffJitterStaysWithinBounds(t *testing.T) {
	const base, refresh = 10 * time.Second, 2 * time.Minute
	for _, j := range jitters {
		t.Run(time.Duration(j*1e9).String(), func(t *testing.T) {
			srv := newStatusServer(t, false)
			r := newRig(t, androidstatus.Config{Source: source(t, srv.URL), Refresh: refresh, BackoffBase: base,
				Jitter: func() float64 { return j }})
			if err := r.start(t); err != nil {
				t.Fatal(err)
			}
			full := base / 2 // the failure's delay before jitter
			var last time.Duration
			for n := 1; n <= 8; n++ {
				full = min(2*full, refresh)
				d, err := r.tick(t)
				if err == nil {
					t.Fatal("a fetch of a failing server succeeded")
				}
				if d < full/2 || d > full {
					t.Fatalf("jitter %v, failure %d: retry after %v, outside [%v, %v]", j, n, d, full/2, full)
				}
				if d < last && full != refresh {
					t.Fatalf("jitter %v, failure %d: retry after %v, sooner than the one before (%v)", j, n, d, last)
				}
				last = d
			}
			if full != refresh {
				t.Fatalf("the backoff never reached the refresh (%v)", full)
			}
			srv.serveList(listOf(t, nil), "")
			if _, err := r.tick(t); err != nil {
				t.Fatal(err)
			}
			if d := r.clk.nextWait(t); d < refresh*9/10 || d > refresh {
				t.Fatalf("jitter %v: after a success the next fetch is in %v, outside [%v, %v]", j, d, refresh*9/10, refresh)
			}
		})
	}
}
