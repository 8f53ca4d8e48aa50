package etcdstore

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/attestd/attestd/internal/etcdtest"
	"github.com/attestd/attestd/internal/testenv/poll"
	"github.com/attestd/attestd/store"
	"github.com/attestd/attestd/store/snapshotfile"
)

// TestLoadFallsBackToTheSnapshot: a follower keeps its snapshot file up to
// date; with etcd gone, a new store serves that file (degraded, LastContact
// the last confirmation), a store without one fails and says why; with
// etcd back, the follower from the file reconnects and catches up.
func TestLoadFallsBackToTheSnapshot(t *testing.T) {
	c := etcdtest.Start(t, etcdtest.Options{Members: 1})
	dir := t.TempDir()
	path := filepath.Join(dir, "snapshot.json")
	fast := func(o *Options) {
		o.SnapshotFile, o.DialTimeout, o.RequestTimeout = path, time.Second, time.Second
		o.SnapshotInterval = 100 * time.Millisecond
	}
	writer := open(t, c.Endpoints(), "p", nil)
	mustUpdate(t, writer, puts("a", `1`))

	var rec watchRec
	node := open(t, c.Endpoints(), "p", fast)
	watch(t, node, &rec) // Load writes the file at once
	f, err := snapshotfile.Read(path, node.Source())
	if err != nil || len(f.Snapshot.Entries) != 1 {
		t.Fatalf("snapshot after Load: %+v %v", f.Snapshot, err)
	}
	rev := mustUpdate(t, writer, puts("b", `2`))
	poll.Until(t, 10*time.Second, "snapshot file follows the change", func() bool {
		f, err := snapshotfile.Read(path, node.Source())
		return err == nil && f.Snapshot.Revision == rev
	})

	c.KillAll()
	// Nothing touches the file any more (no change to write, no contact to
	// record): what it says is when etcd last confirmed the data.
	onFile, err := snapshotfile.Read(path, node.Source())
	if err != nil {
		t.Fatal(err)
	}
	restarted := open(t, c.Endpoints(), "p", fast)
	snap, err := restarted.Load(ctxT(t))
	if err != nil {
		t.Fatalf("Load with etcd gone and a snapshot: %v", err)
	}
	if snap.Revision != rev || len(snap.Entries) != 2 {
		t.Fatalf("served %d entries at %d, want 2 at %d", len(snap.Entries), snap.Revision, rev)
	}
	st := restarted.Health()
	if !strings.Contains(st.Degraded, "snapshot") || st.LastContact.IsZero() || !st.LastContact.Equal(onFile.ConfirmedAt) {
		t.Fatalf("health from the snapshot: %+v", st)
	}

	other := open(t, c.Endpoints(), "other", func(o *Options) { fast(o); o.SnapshotFile = path })
	if _, err := other.Load(ctxT(t)); !errors.Is(err, ErrNoSnapshot) || !errors.Is(err, snapshotfile.ErrMismatch) {
		t.Errorf("another prefix's snapshot: %v", err)
	}
	none := open(t, c.Endpoints(), "p", func(o *Options) { fast(o); o.SnapshotFile = filepath.Join(dir, "none.json") })
	if _, err := none.Load(ctxT(t)); !errors.Is(err, ErrNoSnapshot) || !errors.Is(err, store.ErrUnavailable) {
		t.Errorf("no snapshot file: %v", err)
	}
	bare := open(t, c.Endpoints(), "p", func(o *Options) { o.DialTimeout, o.RequestTimeout = time.Second, time.Second })
	if _, err := bare.Load(ctxT(t)); !errors.Is(err, store.ErrUnavailable) {
		t.Errorf("no snapshot configured: %v", err)
	}

	// The node that started from its snapshot follows etcd once it is back.
	var rrec watchRec
	rrec.snaps = []*store.Snapshot{snap}
	done := make(chan error, 1)
	ctx := ctxT(t)
	go func() {
		done <- restarted.Watch(ctx, snap, func(s *store.Snapshot) {
			rrec.mu.Lock()
			rrec.snaps = append(rrec.snaps, s)
			rrec.mu.Unlock()
		})
	}()
	if err := c.StartAll(); err != nil {
		t.Fatal(err)
	}
	poll.Until(t, 10*time.Second, "healthy after etcd is back", func() bool { return restarted.Health().Degraded == "" })
	rrec.mu.Lock()
	n := len(rrec.snaps)
	rrec.mu.Unlock()
	if n != 1 {
		t.Errorf("published %d snapshots though nothing changed", n-1)
	}
	mustUpdate(t, writer, puts("c", `3`))
	poll.Until(t, 10*time.Second, "change after reconnection", has(&rrec, "c", `3`))
}
