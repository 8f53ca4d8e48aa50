// Package poll waits, in tests, for a state that comes with no event to
// wait on: what a node serves, what a store's watch has seen, how a
// connection pool looks. It looks again at a short interval until the state
// holds or a deadline passes; it never sleeps a fixed time before looking.
// Where the code under test can signal (a channel, a callback, a log line),
// wait for that instead. Only tests import it; it imports only the standard
// library, so that any package's tests may.
package poll

import (
	"testing"
	"time"
)

// Every is how often Until looks again.
const Every = 10 * time.Millisecond

// Until waits until ok holds, looking again every Every, for at most
// within; then it fails the test, naming what it waited for. ok must be
// cheap and safe to call repeatedly.
func Until(t testing.TB, within time.Duration, what string, ok func() bool) {
	t.Helper()
	if !For(within, ok) {
		t.Fatalf("%s: not within %v", what, within)
	}
}

// For waits until ok holds, looking again every Every, for at most within,
// and reports whether it held: for a caller that says itself what a
// timeout means (or that is not the test's goroutine). ok is looked at
// once more when within has passed.
func For(within time.Duration, ok func() bool) bool {
	deadline := time.NewTimer(within)
	defer deadline.Stop()
	tick := time.NewTicker(Every)
	defer tick.Stop()
	for !ok() {
		select {
		case <-tick.C:
		case <-deadline.C:
			return ok()
		}
	}
	return true
}
