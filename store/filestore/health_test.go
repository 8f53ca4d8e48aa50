package filestore

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/attestd/attestd/store"
)

// clock is a settable clock for Health. Each reading pokes polled, as
// does each error the store reports: a test sees a poll happen.
type clock struct {
	mu     sync.Mutex
	t      time.Time
	polled chan struct{}
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.poke()
	return c.t
}

func (c *clock) poke() {
	select {
	case c.polled <- struct{}{}:
	default:
	}
}

func (c *clock) set(t time.Time)     { c.mu.Lock(); c.t = t; c.mu.Unlock() }
func (c *clock) add(d time.Duration) { c.set(c.now().Add(d)) }

// waitPolls waits for polls until ok holds, and fails after 500 polls'
// time (in the test's synctest bubble, the watch's ticker is fake).
func waitPolls(t *testing.T, c *clock, what string, ok func() bool) {
	t.Helper()
	deadline := time.After(500 * testPoll)
	for !ok() {
		select {
		case <-c.polled:
		case <-deadline:
			t.Fatalf("%s: not after 500 polls", what)
		}
	}
}

const testPoll = 20 * time.Millisecond

// TestIdleFileStoreStaysCurrent: a file store's data is current as of its
// last poll, so an idle store's age stays within a poll of now (it used to
// grow from the last change); a state file that stops reading makes it
// degraded, its age grows from the last good poll, and it resumes when the
// file reads again.
func TestIdleFileStoreStaysCurrent(t *testing.T) { synctest.Test(t, idleFileStoreStaysCurrent) }

func idleFileStoreStaysCurrent(t *testing.T) {
	dir := t.TempDir()
	c := &clock{t: time.Unix(1_800_000_000, 0), polled: make(chan struct{}, 1)}
	var errs atomic.Int64
	s, err := Open(ctxT(t), dir, Options{NewMasterKey: testKey, PollInterval: testPoll, Now: c.now,
		OnError: func(error) { errs.Add(1); c.poke() }})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Update(ctxT(t), increment("n")); err != nil {
		t.Fatal(err)
	}
	snap, err := s.Load(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	t0 := c.now()
	if h := s.Health(); !h.LastContact.Equal(t0) || h.Degraded != "" {
		t.Fatalf("after Load: %+v", h)
	}
	ctx, cancel := context.WithCancel(ctxT(t))
	done := make(chan error, 1)
	go func() { done <- s.Watch(ctx, snap, func(*store.Snapshot) {}) }()
	defer func() { cancel(); <-done }()

	// Ten idle minutes later, a poll confirms the data current.
	c.add(10 * time.Minute)
	t1 := c.now()
	health := func(ok func(store.HealthStatus) bool) func() bool { return func() bool { return ok(s.Health()) } }
	waitPolls(t, c, "idle store confirmed by a poll", health(func(h store.HealthStatus) bool { return h.LastContact.Equal(t1) && h.Degraded == "" }))

	// The state file stops reading: degraded, and no poll confirms it.
	state := filepath.Join(dir, StateFileName)
	good, err := os.ReadFile(state)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(state, []byte("{not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	waitPolls(t, c, "unreadable state file", health(func(h store.HealthStatus) bool { return h.Degraded != "" }))
	c.add(10 * time.Minute)
	n := errs.Load() + 3
	waitPolls(t, c, "three more failed polls", func() bool { return errs.Load() >= n })
	if h := s.Health(); !h.LastContact.Equal(t1) || h.Degraded == "" {
		t.Fatalf("failed polls confirmed the data: %+v", h)
	}
	// It reads again: current again.
	if err := os.WriteFile(state, good, 0o600); err != nil {
		t.Fatal(err)
	}
	t2 := c.now()
	waitPolls(t, c, "state file readable again", health(func(h store.HealthStatus) bool { return h.LastContact.Equal(t2) && h.Degraded == "" }))
}
