package filestore

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/attestd/attestd/store"
)

// clock is a settable clock for Health.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) set(t time.Time)     { c.mu.Lock(); c.t = t; c.mu.Unlock() }
func (c *clock) add(d time.Duration) { c.set(c.now().Add(d)) }

// waitHealth waits until ok holds for the store's health (each poll of a
// watching store may change it), or fails after a bound.
func waitHealth(t *testing.T, s *Store, what string, ok func(store.HealthStatus) bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second) // 500 polls
	for !ok(s.Health()) {
		if time.Now().After(deadline) {
			t.Fatalf("%s: health %+v", what, s.Health())
		}
		time.Sleep(time.Millisecond) // the watch polls every 20 ms on its own ticker
	}
}

// TestIdleFileStoreStaysCurrent: a file store's data is current as of its
// last poll, so an idle store's age stays within a poll of now (it used to
// grow from the last change); a state file that stops reading makes it
// degraded, its age grows from the last good poll, and it resumes when the
// file reads again.
func TestIdleFileStoreStaysCurrent(t *testing.T) {
	dir := t.TempDir()
	c := &clock{t: time.Unix(1_800_000_000, 0)}
	var errs atomic.Int64
	s, err := Open(ctxT(t), dir, Options{NewMasterKey: testKey, PollInterval: 20 * time.Millisecond, Now: c.now,
		OnError: func(error) { errs.Add(1) }})
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
	waitHealth(t, s, "idle store confirmed by a poll", func(h store.HealthStatus) bool { return h.LastContact.Equal(t1) && h.Degraded == "" })

	// The state file stops reading: degraded, and no poll confirms it.
	state := filepath.Join(dir, StateFileName)
	good, err := os.ReadFile(state)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(state, []byte("{not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	waitHealth(t, s, "unreadable state file", func(h store.HealthStatus) bool { return h.Degraded != "" })
	c.add(10 * time.Minute)
	for n := errs.Load() + 3; errs.Load() < n; {
		time.Sleep(time.Millisecond) // three more failed polls
	}
	if h := s.Health(); !h.LastContact.Equal(t1) || h.Degraded == "" {
		t.Fatalf("failed polls confirmed the data: %+v", h)
	}
	// It reads again: current again.
	if err := os.WriteFile(state, good, 0o600); err != nil {
		t.Fatal(err)
	}
	t2 := c.now()
	waitHealth(t, s, "state file readable again", func(h store.HealthStatus) bool { return h.LastContact.Equal(t2) && h.Degraded == "" })
}
