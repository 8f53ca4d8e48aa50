package etcdstore

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"

	"github.com/attestd/attestd/internal/etcdtest"
	"github.com/attestd/attestd/internal/testenv/poll"
	"github.com/attestd/attestd/store"
)

// follower runs Watch on s in the background and records what it
// publishes and reports.
type watchRec struct {
	mu    sync.Mutex
	snaps []*store.Snapshot
	errs  []error
}

func (r *watchRec) onError(err error) {
	r.mu.Lock()
	r.errs = append(r.errs, err)
	r.mu.Unlock()
}

func (r *watchRec) last() *store.Snapshot {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.snaps) == 0 {
		return nil
	}
	return r.snaps[len(r.snaps)-1]
}

func (r *watchRec) sawError(target error) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, e := range r.errs {
		if errors.Is(e, target) {
			return true
		}
	}
	return false
}

// watch loads s and follows it until the test ends.
func watch(t *testing.T, s *Store, r *watchRec) {
	t.Helper()
	from, err := s.Load(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	r.mu.Lock()
	r.snaps = append(r.snaps, from)
	r.mu.Unlock()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- s.Watch(ctx, from, func(snap *store.Snapshot) {
			r.mu.Lock()
			defer r.mu.Unlock()
			if prev := r.snaps[len(r.snaps)-1]; snap.Revision <= prev.Revision || sameContent(prev, snap) {
				t.Errorf("published revision %d after %d (same content: %v)", snap.Revision, prev.Revision, sameContent(prev, snap))
			}
			r.snaps = append(r.snaps, snap)
		})
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Watch: %v", err)
		}
	})
}

func has(r *watchRec, key, val string) func() bool {
	return func() bool {
		snap := r.last()
		e, ok := snap.Get(key)
		if val == "" {
			return !ok
		}
		return ok && string(e.Value) == val
	}
}

// TestWatchCatchesUpAfterPartitionAndCompaction: two followers are cut
// off etcd while records change and the history is compacted. One keeps
// its watch open (clientv3 resumes it, etcd says "compacted"), the other
// notices the silence (degraded health, re-read with backoff); both catch
// up on the current state once reconnected, publishing only newer
// snapshots.
func TestWatchCatchesUpAfterPartitionAndCompaction(t *testing.T) {
	c := etcdtest.Start(t, etcdtest.Options{Members: 1})
	writer := open(t, c.Endpoints(), "p", nil)
	mustUpdate(t, writer, puts("a", `1`, "b", `1`))

	var patient, alert watchRec
	ptP, ptA := c.Partition(t), c.Partition(t)
	sP := open(t, ptP.Endpoints(), "p", func(o *Options) { o.StaleAfter = time.Minute; o.OnError = patient.onError })
	sA := open(t, ptA.Endpoints(), "p", func(o *Options) { o.OnError = alert.onError })
	watch(t, sP, &patient)
	watch(t, sA, &alert)

	mustUpdate(t, writer, puts("b", `2`))
	for _, r := range []*watchRec{&patient, &alert} {
		poll.Until(t, 10*time.Second, "change seen", has(r, "b", `2`))
	}
	poll.Until(t, 10*time.Second, "healthy", func() bool { return sA.Health().Degraded == "" })

	ptP.Cut()
	ptA.Cut()
	poll.Until(t, 5*time.Second, "degraded while cut off", func() bool { return sA.Health().Degraded != "" })
	lastContact := sA.Health().LastContact

	mustUpdate(t, writer, puts("c", `3`))
	mustUpdate(t, writer, func(*store.Snapshot) (store.Changes, error) { return store.Changes{Delete: []string{"a"}}, nil })
	mustUpdate(t, writer, puts("b", `3`))
	c.Compact(t)

	ptP.Restore()
	ptA.Restore()
	for name, r := range map[string]*watchRec{"patient": &patient, "alert": &alert} {
		poll.Until(t, 10*time.Second, name+" caught up", func() bool {
			return has(r, "c", `3`)() && has(r, "a", "")() && has(r, "b", `3`)()
		})
	}
	poll.Until(t, 5*time.Second, "healthy again", func() bool { return sA.Health().Degraded == "" })
	if !sA.Health().LastContact.After(lastContact) {
		t.Error("LastContact did not move on reconnection")
	}
	if !patient.sawError(rpctypes.ErrCompacted) {
		t.Errorf("the resumed watch did not meet the compaction: %v", patient.errs)
	}
	// Nothing changes: nothing is published, and progress notifications
	// keep moving LastContact (asserted as movement, not as an age: a
	// loaded CI box may delay one progress round trip past any fixed bound).
	patient.mu.Lock()
	n := len(patient.snaps)
	patient.mu.Unlock()
	idleFrom := sP.Health().LastContact
	poll.Until(t, 6*time.Second, "contact refreshed 600 ms into the idle time", func() bool {
		return sP.Health().LastContact.After(idleFrom.Add(600 * time.Millisecond))
	})
	patient.mu.Lock()
	if len(patient.snaps) != n {
		t.Error("published without a change")
	}
	patient.mu.Unlock()
	if st := sP.Health(); st.Degraded != "" {
		t.Errorf("idle health: %+v", st)
	}
}

// TestIdleStoreStaysHealthy: on a cluster nobody writes to, etcd answers
// no progress request of a watch opened past its revision; the follower
// still confirms contact, never reports a silence, and stays healthy well
// past StaleAfter.
func TestIdleStoreStaysHealthy(t *testing.T) {
	c := etcdtest.Start(t, etcdtest.Options{Members: 1})
	mustUpdate(t, open(t, c.Endpoints(), "idle", nil), puts("a", `1`))
	var r watchRec
	// StaleAfter is eight progress intervals: a loaded machine may stall
	// etcd or this process for a few of them without the silence being
	// real; three times StaleAfter idle proves the contact is confirmed.
	const progress, stale = 250 * time.Millisecond, 2 * time.Second
	s := open(t, c.Endpoints(), "idle", func(o *Options) {
		o.ProgressInterval, o.StaleAfter, o.OnError = progress, stale, r.onError
	})
	watch(t, s, &r)
	for i := 0; i < 3; i++ {
		before := s.Health().LastContact
		poll.Until(t, stale+5*time.Second, "contact confirmed past StaleAfter of idle time", func() bool {
			return s.Health().LastContact.After(before.Add(stale + 100*time.Millisecond))
		})
	}
	if st := s.Health(); st.Degraded != "" {
		t.Errorf("idle store degraded: %+v", st)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.errs) != 0 {
		t.Errorf("idle watch reported errors: %v", r.errs)
	}
	if len(r.snaps) != 1 {
		t.Errorf("idle watch published %d snapshots after the first", len(r.snaps)-1)
	}
}

// TestWatchEndsOnClose: closing the store ends Watch with ErrClosed.
func TestWatchEndsOnClose(t *testing.T) {
	c := etcdtest.Start(t, etcdtest.Options{Members: 1})
	s, err := Open(Options{Endpoints: c.Endpoints(), Prefix: "p"})
	if err != nil {
		t.Fatal(err)
	}
	from, err := s.Load(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	published := make(chan struct{}, 1)
	go func() {
		done <- s.Watch(context.Background(), from, func(*store.Snapshot) {
			select {
			case published <- struct{}{}:
			default:
			}
		})
	}()
	mustUpdate(t, s, puts("k", `1`))
	select {
	case <-published: // Watch runs
	case <-time.After(10 * time.Second):
		t.Fatal("Watch did not publish a change within 10 s")
	}
	s.Close()
	select {
	case err := <-done:
		if !errors.Is(err, ErrClosed) {
			t.Fatalf("Watch after Close: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Watch still running after Close")
	}
	if _, err := s.Load(ctxT(t)); !errors.Is(err, ErrClosed) {
		t.Fatalf("Load after Close: %v", err)
	}
}
