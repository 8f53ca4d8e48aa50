package loadtest_test

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/attestd/attestd/internal/testenv"
	"github.com/attestd/attestd/loadtest"
)

// TestOverloadCheckCatchesANodeThatDoesNotShed runs the overload check,
// briefly, against a node without limits: the check must say it failed.
func TestOverloadCheckCatchesANodeThatDoesNotShed(t *testing.T) {
	if testing.Short() {
		t.Skip("a few seconds of load")
	}
	n := node(t, testenv.Options{})
	rep, err := loadtest.Overload(context.Background(), loadtest.OverloadConfig{
		Run:   loadtest.Config{Target: n.Base, Devices: 50, Mix: mustMix(t, "pass=1"), Timeout: 5 * time.Second},
		Admin: n.Admin, Probe: time.Second, Duration: 2 * time.Second, Recovery: time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Capacity <= 0 || rep.RSSBefore <= 0 || rep.RSSPeak < rep.RSSBefore {
		t.Errorf("capacity %.0f, rss %d → %d", rep.Capacity, rep.RSSBefore, rep.RSSPeak)
	}
	found := false
	for _, v := range rep.Violations {
		found = found || strings.Contains(v, "does not shed")
	}
	if !found {
		t.Errorf("violations %q do not say the node does not shed", rep.Violations)
	}
}

// TestOverloadShedding is the overload check of the issue against a
// running node whose limits are wired (internal/limit, Run included): 3×
// its capacity open-loop for 30 s with presigned requests, then half of it.
// Set ATTESTLOAD_OVERLOAD_TARGET and ATTESTLOAD_OVERLOAD_ADMIN, and start
// the node with --challenge-rate 0 (one generator address stands for every
// client), --nonce-ttl 300s (requests are signed before the run) and its
// queue-delay bound (--max-queue-delay 20ms):
//
//	GOMAXPROCS=1 taskset -c 0 attestd --store … --challenge-rate 0 --nonce-ttl 300s --max-queue-delay 20ms &
//	ATTESTLOAD_OVERLOAD_TARGET=http://127.0.0.1:8080 ATTESTLOAD_OVERLOAD_ADMIN=http://127.0.0.1:9090 \
//	  taskset -c 1 go test -run TestOverloadShedding -v -timeout 15m ./loadtest/
func TestOverloadShedding(t *testing.T) {
	target, admin := os.Getenv("ATTESTLOAD_OVERLOAD_TARGET"), os.Getenv("ATTESTLOAD_OVERLOAD_ADMIN")
	if target == "" || admin == "" {
		t.Skip("set ATTESTLOAD_OVERLOAD_TARGET and ATTESTLOAD_OVERLOAD_ADMIN to a node with limits wired")
	}
	rep, err := loadtest.Overload(context.Background(), loadtest.OverloadConfig{
		Run: loadtest.Config{Target: target, Devices: 20_000, Mix: mustMix(t, "pass=1"), Timeout: 5 * time.Second,
			Workers: 256, Prefetch: true, Presign: true},
		Admin:    admin,
		Duration: 30 * time.Second,
		Progress: testWriter{t},
	})
	if err != nil {
		t.Fatal(err)
	}
	var sb strings.Builder
	_ = rep.WriteText(&sb)
	t.Log("\n" + sb.String())
	for _, v := range rep.Violations {
		t.Error(v)
	}
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
