package e2e

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/attestd/attestd/internal/testenv"
	"github.com/attestd/attestd/internal/testenv/poll"
)

// syncAge reads attestd_store_sync_age_seconds from a node's metrics.
func syncAge(t *testing.T, n *testenv.Node) float64 {
	t.Helper()
	_, body := get(t, n.Admin+"/metrics")
	for _, line := range strings.Split(body, "\n") {
		if v, ok := strings.CutPrefix(line, "attestd_store_sync_age_seconds "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatal(err)
			}
			return f
		}
	}
	t.Fatal("no attestd_store_sync_age_seconds")
	return 0
}

// TestIdleFileStoreSyncAgeStaysNearZero: on a file store nobody writes
// to, the node's data is current (its watch reads the file every 200 ms),
// so attestd_store_sync_age_seconds stays near zero instead of growing
// from the last change: an alert on it must not fire on an idle
// single-node deployment. The node's clock jumps ten minutes; the next
// poll brings the age back to a fraction of a second (under a minute here).
func TestIdleFileStoreSyncAgeStaysNearZero(t *testing.T) {
	f := testenv.NewFixture(t)
	n := testenv.StartNode(t, testenv.NewStore(t, f), testenv.Options{})
	n.Clock.Advance(10 * time.Minute)
	var age float64
	if !poll.For(10*time.Second, func() bool { age = syncAge(t, n); return age < 60 }) { // 50 of the node's polls
		t.Fatalf("idle file store: sync age %.0f s ten minutes after its last change", age)
	}
	if _, body := get(t, n.Admin+"/readyz"); !strings.HasPrefix(body, "ready revision=") {
		t.Fatalf("readyz: %s", body)
	}
}
