package etcdstore

import (
	"reflect"
	"testing"
	"time"

	"go.etcd.io/etcd/api/v3/mvccpb"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/attestd/attestd/store"
)

func put(key, val string, rev int64) *clientv3.Event {
	return &clientv3.Event{Type: mvccpb.PUT, Kv: &mvccpb.KeyValue{Key: []byte(key), Value: []byte(val), ModRevision: rev}}
}

func del(key string, rev int64) *clientv3.Event {
	return &clientv3.Event{Type: mvccpb.DELETE, Kv: &mvccpb.KeyValue{Key: []byte(key), ModRevision: rev}}
}

func testStore(t *testing.T) *Store {
	t.Helper()
	s, err := Open(Options{Endpoints: []string{"127.0.0.1:1"}, Prefix: "p"})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestApplyEventsIsAnIdempotentReconcile(t *testing.T) {
	s := testStore(t)
	cur := &store.Snapshot{Revision: 10, Entries: map[string]store.Entry{
		"apps/a": {Value: []byte(`{"v":1}`), ModRevision: 4},
		"bans":   {Value: []byte(`{"devices":[]}`), ModRevision: 10},
	}}
	before := clone(cur)
	evs := []*clientv3.Event{
		put("p/apps/a", `{"v":0}`, 4),          // replayed: already applied
		put("p/bans", `{"devices":["x"]}`, 10), // duplicate of the current revision
		put("p/apps/b", `{"v":2}`, 11),
		del("p/bans", 11),
		put("p/_rev", "10", 11), // the meta key never shows
		put("p/apps/a", `{"v":3}`, 12),
	}
	next, rev := applyEvents(cur, 10, evs, s.storeKey)
	if rev != 12 || next == nil || next.Revision != 12 {
		t.Fatalf("rev %d, next %+v", rev, next)
	}
	want := map[string]store.Entry{
		"apps/a": {Value: []byte(`{"v":3}`), ModRevision: 12},
		"apps/b": {Value: []byte(`{"v":2}`), ModRevision: 11},
	}
	if !reflect.DeepEqual(next.Entries, want) {
		t.Fatalf("entries %v", next.Entries)
	}
	if !reflect.DeepEqual(cur, before) {
		t.Fatal("cur was modified")
	}
	// The same events again (a replay after a resumed watch) change nothing.
	again, rev2 := applyEvents(next, rev, evs, s.storeKey)
	if again != nil || rev2 != 12 {
		t.Fatalf("replay changed something: %+v at %d", again, rev2)
	}
	// Events that touch only the meta key move the revision, not the data.
	meta, rev3 := applyEvents(next, 12, []*clientv3.Event{put("p/_rev", "12", 13)}, s.storeKey)
	if meta != nil || rev3 != 13 {
		t.Fatalf("meta-only events: %+v at %d", meta, rev3)
	}
}

func TestSameContent(t *testing.T) {
	a := &store.Snapshot{Revision: 5, Entries: map[string]store.Entry{"k": {Value: []byte(`1`), ModRevision: 3}}}
	b := &store.Snapshot{Revision: 9, Entries: map[string]store.Entry{"k": {Value: []byte(`1`), ModRevision: 3}}}
	if !sameContent(a, b) {
		t.Error("same records at other revisions differ")
	}
	b.Entries["k"] = store.Entry{Value: []byte(`1`), ModRevision: 7}
	if sameContent(a, b) {
		t.Error("rewritten record looks the same")
	}
	if sameContent(a, &store.Snapshot{Entries: map[string]store.Entry{}}) {
		t.Error("deleted record looks the same")
	}
}

func TestBackoffGrowsWithJitterAndResets(t *testing.T) {
	b := newBackoff(100*time.Millisecond, time.Second)
	lo := &backoff{min: b.min, max: b.max, rnd: func(int64) int64 { return 0 }}
	hi := &backoff{min: b.min, max: b.max, rnd: func(n int64) int64 { return n - 1 }}
	want := []time.Duration{100, 200, 400, 800, 1000, 1000}
	for i, w := range want {
		w *= time.Millisecond
		if l, h := lo.next(), hi.next(); l != w/2 || h != w {
			t.Fatalf("step %d: [%v, %v], want [%v, %v]", i, l, h, w/2, w)
		}
	}
	for range 100 {
		if d := b.next(); d < 50*time.Millisecond || d > time.Second {
			t.Fatalf("delay %v out of bounds", d)
		}
	}
	lo.reset()
	if d := lo.next(); d != 50*time.Millisecond {
		t.Fatalf("after reset: %v", d)
	}
}

func TestHealthStatus(t *testing.T) {
	now := time.Unix(1000, 0)
	h := newHealth(func() time.Time { return now }, 5*time.Second)
	if st := h.status(); st.Degraded == "" || !st.LastContact.IsZero() {
		t.Fatalf("never connected: %+v", st)
	}
	h.contact()
	if st := h.status(); st.Degraded != "" || !st.LastContact.Equal(now) {
		t.Fatalf("connected: %+v", st)
	}
	now = now.Add(6 * time.Second)
	if st := h.status(); st.Degraded == "" {
		t.Fatalf("silent for 6s: %+v", st)
	}
	h.fail("watch lost")
	if st := h.status(); st.Degraded != "watch lost" || !st.LastContact.Equal(now.Add(-6*time.Second)) {
		t.Fatalf("failed: %+v", st)
	}
	h.servingSnapshot(time.Unix(500, 0), "from file")
	if st := h.status(); st.Degraded != "from file" || st.LastContact.Unix() != 500 {
		t.Fatalf("snapshot: %+v", st)
	}
	h.fail("re-read failed")
	if st := h.status(); st.Degraded != "from file; re-read failed" || st.LastContact.Unix() != 500 {
		t.Fatalf("snapshot, then a failure: %+v", st)
	}
	h.contact()
	if st := h.status(); st.Degraded != "" || !st.LastContact.Equal(now) {
		t.Fatalf("contact after the snapshot: %+v", st)
	}
}
