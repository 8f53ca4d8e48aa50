package filestore

import (
	"context"
	"testing"
	"time"

	"github.com/attestd/attestd/store"
)

func TestWatchSeesChanges(t *testing.T) {
	dir := t.TempDir()
	w := openTest(t, dir)
	wr := openTest(t, dir)
	ctx, cancel := context.WithCancel(ctxT(t))
	from, _ := w.Load(ctx)
	got := make(chan *store.Snapshot, 16)
	done := make(chan error, 1)
	go func() { done <- w.Watch(ctx, from, func(s *store.Snapshot) { got <- s }) }()

	for i := 1; i <= 3; i++ {
		start := time.Now()
		rev, err := wr.Update(ctx, increment("counter"))
		if err != nil {
			t.Fatal(err)
		}
		select {
		case s := <-got:
			if s.Revision != rev {
				t.Fatalf("watch saw revision %d, want %d", s.Revision, rev)
			}
			t.Logf("change %d seen after %v", i, time.Since(start))
		case <-time.After(10 * time.Second): // 50 polls: only a missed change takes this long
			t.Fatalf("change %d not seen within 10 s", i)
		}
	}
	// A write that changes nothing is not reported.
	if _, err := wr.Update(ctx, func(*store.Snapshot) (store.Changes, error) { return store.Changes{}, nil }); err != nil {
		t.Fatal(err)
	}
	select {
	case s := <-got:
		t.Fatalf("unexpected snapshot %d", s.Revision)
	case <-time.After(200 * time.Millisecond):
	}
	// However late the watch polls: the next snapshot it reports is the
	// next real change.
	rev, err := wr.Update(ctx, increment("counter"))
	if err != nil {
		t.Fatal(err)
	}
	select {
	case s := <-got:
		if s.Revision != rev {
			t.Fatalf("watch reported revision %d after a write that changed nothing, want %d", s.Revision, rev)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("change after the empty write not seen within 10 s")
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("watch returned %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("watch did not stop with its context")
	}
}

func TestWatchFromStaleSnapshotCatchesUp(t *testing.T) {
	dir := t.TempDir()
	s := openTest(t, dir)
	ctx, cancel := context.WithCancel(ctxT(t))
	defer cancel()
	from, _ := s.Load(ctx)
	// Changes between Load and Watch are delivered at the first poll.
	if _, err := s.Update(ctx, increment("counter")); err != nil {
		t.Fatal(err)
	}
	got := make(chan int64, 4)
	go func() { _ = s.Watch(ctx, from, func(sn *store.Snapshot) { got <- sn.Revision }) }()
	select {
	case r := <-got:
		if r != 1 {
			t.Fatalf("revision %d", r)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("missed the change made before Watch")
	}
}
