package testenv

import (
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/attestd/attestd/internal/testenv/poll"
)

// Waiting for a node: a node applies a store change when its watch sees it
// (the file store is polled), and says which state it serves on /readyz.
// Tests wait for that statement, not for a while.

// AwaitRevision waits until n serves store revision rev or a later one,
// for at most within (PROTOCOL.md gives a node 2 s to apply a change).
func (n *Node) AwaitRevision(t testing.TB, rev int64, within time.Duration) {
	t.Helper()
	poll.Until(t, within, "node serving store revision "+strconv.FormatInt(rev, 10), func() bool {
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
