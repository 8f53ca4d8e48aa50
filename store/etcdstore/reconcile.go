package etcdstore

import (
	"maps"

	"go.etcd.io/etcd/api/v3/mvccpb"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/attestd/attestd/store"
)

// applyEvents is the reconcile step of Watch: it returns the snapshot after
// the events above revision rev (every change up to rev is already in cur),
// and the revision the node is current through afterwards. Events at or
// below rev (a replayed or duplicated event, a resumed watch that repeats
// itself) are skipped, so applying the same events twice changes nothing.
// next is nil when no event changes a record (cur is then still current);
// cur is never modified. storeKey maps an etcd key to a record key and
// says whether it is one (the meta key and keys outside the prefix are
// not).
func applyEvents(cur *store.Snapshot, rev int64, evs []*clientv3.Event, storeKey func([]byte) (string, bool)) (next *store.Snapshot, newRev int64) {
	newRev = rev
	for _, ev := range evs {
		if ev.Kv == nil || ev.Kv.ModRevision <= rev {
			continue
		}
		r := ev.Kv.ModRevision
		newRev = max(newRev, r)
		k, ok := storeKey(ev.Kv.Key)
		if !ok {
			continue
		}
		if next == nil {
			next = clone(cur)
		}
		switch ev.Type {
		case mvccpb.PUT:
			next.Entries[k] = store.Entry{Value: ev.Kv.Value, ModRevision: r}
		case mvccpb.DELETE:
			delete(next.Entries, k)
		}
	}
	if next != nil {
		next.Revision = newRev
	}
	return next, newRev
}

// clone copies a snapshot's entry map (values are shared: they are never
// modified); a nil snapshot clones to an empty one.
func clone(s *store.Snapshot) *store.Snapshot {
	if s == nil {
		return &store.Snapshot{Entries: map[string]store.Entry{}}
	}
	n := &store.Snapshot{Revision: s.Revision}
	if s.Entries == nil {
		n.Entries = map[string]store.Entry{}
	} else {
		n.Entries = maps.Clone(s.Entries)
	}
	return n
}

// sameContent reports whether a and b hold the same records at the same
// mod revisions (so the same values).
func sameContent(a, b *store.Snapshot) bool {
	if len(a.Entries) != len(b.Entries) {
		return false
	}
	for k, e := range a.Entries {
		if o, ok := b.Entries[k]; !ok || o.ModRevision != e.ModRevision {
			return false
		}
	}
	return true
}
