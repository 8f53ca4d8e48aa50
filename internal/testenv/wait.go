package testenv

import (
	"context"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/attestd/attestd/store/open"
)

// Waiting for a node: a node applies a store change when its watch sees it
// (the file store is polled), and says which state it serves on /readyz.
// Tests wait for that statement, not for a while.

// ApplyWithin bounds how long a node may take to serve a store change:
// PROTOCOL.md gives nodes 2 s; the rest is room for a loaded test machine.
const ApplyWithin = 10 * time.Second

// pollEvery is how often Eventually looks again.
const pollEvery = 10 * time.Millisecond

// Eventually waits until ok holds, looking again every 10 ms, for at most
// within; then it fails the test, naming what it waited for. It is for
// states that come with no event to wait on (what a node serves, what a
// store's watch has seen); ok must be cheap and safe to call repeatedly.
func Eventually(t testing.TB, within time.Duration, what string, ok func() bool) {
	t.Helper()
	deadline := time.NewTimer(within)
	defer deadline.Stop()
	tick := time.NewTicker(pollEvery)
	defer tick.Stop()
	for !ok() {
		select {
		case <-tick.C:
		case <-deadline.C:
			if ok() {
				return
			}
			t.Fatalf("%s: not within %v", what, within)
		}
	}
}

// Revision is the store's current revision (after attestctl wrote to it,
// say).
func (s *Store) Revision(t testing.TB) int64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	st, _, err := open.Open(ctx, s.URL, open.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	snap, err := st.Load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return snap.Revision
}

// AwaitRevision waits, for at most ApplyWithin, until n serves store
// revision rev or a later one.
func (n *Node) AwaitRevision(t testing.TB, rev int64) {
	t.Helper()
	Eventually(t, ApplyWithin, "node serving store revision "+strconv.FormatInt(rev, 10), func() bool {
		return n.ServedRevision() >= rev
	})
}

// ServedRevision is the store revision n says it serves on /readyz, or -1
// when it serves none (not ready, draining, unreachable).
func (n *Node) ServedRevision() int64 {
	resp, err := (&http.Client{Timeout: 2 * time.Second}).Get(n.Admin + "/readyz")
	if err != nil {
		return -1
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
	if err != nil {
		return -1
	}
	_, after, ok := strings.Cut(string(b), "revision=")
	if !ok {
		return -1
	}
	rev, err := strconv.ParseInt(strings.TrimSpace(after), 10, 64)
	if err != nil {
		return -1
	}
	return rev
}
