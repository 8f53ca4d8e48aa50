package etcdstore

import (
	"errors"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/attestd/attestd/internal/etcdtest"
	"github.com/attestd/attestd/internal/testenv/poll"
	"github.com/attestd/attestd/store"
	"github.com/attestd/attestd/store/snapshotfile"
)

var errRefusedHere = errors.New("refused by the test's Accept")

// TestSnapshotFileKeepsOnlyAcceptedState: a state the node refuses (here:
// any holding key "forged", as record authentication would) never reaches
// its snapshot file, which keeps the last state accepted; a refused state
// accepted later (the node re-read its master key) is written at the next
// confirmation; a snapshot file the node refuses is not served when etcd
// is away, and LastKnownGood reads it back.
func TestSnapshotFileKeepsOnlyAcceptedState(t *testing.T) {
	c := etcdtest.Start(t, etcdtest.Options{Members: 1})
	path := filepath.Join(t.TempDir(), "snapshot.json")
	var allowForged atomic.Bool
	accept := func(s *store.Snapshot) error {
		if _, bad := s.Get("forged"); bad && !allowForged.Load() {
			return errRefusedHere
		}
		return nil
	}
	fast := func(o *Options) {
		o.SnapshotFile, o.Accept, o.DialTimeout, o.RequestTimeout = path, accept, time.Second, time.Second
		o.SnapshotInterval, o.ProgressInterval = 50*time.Millisecond, 100*time.Millisecond
	}
	writer := open(t, c.Endpoints(), "p", nil)
	good := mustUpdate(t, writer, puts("a", `1`))
	var rec watchRec
	node := open(t, c.Endpoints(), "p", fast)
	watch(t, node, &rec)
	onFile := func() int64 {
		f, err := snapshotfile.Read(path, node.Source())
		if err != nil {
			t.Fatal(err)
		}
		return f.Snapshot.Revision
	}
	if onFile() != good {
		t.Fatalf("Load did not write the accepted state")
	}
	bad := mustUpdate(t, writer, puts("forged", `1`))
	poll.Until(t, 10*time.Second, "refused state published to apply", has(&rec, "forged", `1`))
	// Wait until etcd has confirmed the data several snapshot intervals
	// after the refused state was published: a snapshot offered to the
	// writer would be on disk by then.
	t0 := time.Now()
	poll.Until(t, 10*time.Second, "confirmations after the refused state", func() bool {
		return node.Health().LastContact.After(t0.Add(300 * time.Millisecond))
	})
	if got := onFile(); got != good {
		t.Fatalf("snapshot file holds revision %d, a refused state (last accepted %d)", got, good)
	}
	allowForged.Store(true)
	poll.Until(t, 10*time.Second, "state accepted later is written", func() bool { return onFile() == bad })
	allowForged.Store(false)

	lkg, err := node.LastKnownGood()
	if err != nil || lkg == nil || lkg.Revision != bad {
		t.Fatalf("LastKnownGood = %v, %v", lkg, err)
	}
	c.KillAll()
	restarted := open(t, c.Endpoints(), "p", fast)
	if _, err := restarted.Load(ctxT(t)); !errors.Is(err, ErrNoSnapshot) || !errors.Is(err, errRefusedHere) {
		t.Fatalf("Load served a snapshot file its Accept refuses: %v", err)
	}
	none := open(t, c.Endpoints(), "p", func(o *Options) { o.SnapshotFile = filepath.Join(t.TempDir(), "none.json") })
	if s, err := none.LastKnownGood(); s != nil || err != nil {
		t.Fatalf("LastKnownGood without a file = %v, %v", s, err)
	}
}
