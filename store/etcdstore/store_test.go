package etcdstore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/attestd/attestd/internal/etcdtest"
	"github.com/attestd/attestd/store"
	"github.com/attestd/attestd/store/filestore"
)

func ctxT(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// open opens a store of prefix on endpoints, closed when the test ends.
func open(t *testing.T, endpoints []string, prefix string, edit func(*Options)) *Store {
	t.Helper()
	o := Options{Endpoints: endpoints, Prefix: prefix, DialTimeout: 2 * time.Second, RequestTimeout: 2 * time.Second,
		ProgressInterval: 200 * time.Millisecond, StaleAfter: 2 * time.Second, MaxBackoff: 500 * time.Millisecond}
	if edit != nil {
		edit(&o)
	}
	s, err := Open(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func puts(kv ...string) func(*store.Snapshot) (store.Changes, error) {
	return func(*store.Snapshot) (store.Changes, error) {
		ch := store.Changes{Put: map[string][]byte{}}
		for i := 0; i < len(kv); i += 2 {
			ch.Put[kv[i]] = []byte(kv[i+1])
		}
		return ch, nil
	}
}

func mustUpdate(t *testing.T, s store.Writer, fn func(*store.Snapshot) (store.Changes, error)) int64 {
	t.Helper()
	rev, err := s.Update(ctxT(t), fn)
	if err != nil {
		t.Fatal(err)
	}
	return rev
}

// TestStoredLikeTheFileStore: the same changes give the same values in
// etcd as in the file store (compact JSON bytes); revisions are etcd's.
func TestStoredLikeTheFileStore(t *testing.T) {
	c := etcdtest.Start(t, etcdtest.Options{Members: 1})
	s := open(t, c.Endpoints(), "attestd", nil)
	fs, err := filestore.Open(ctxT(t), t.TempDir(), filestore.Options{NewMasterKey: func() ([]byte, error) { return []byte("m1:x\n"), nil }})
	if err != nil {
		t.Fatal(err)
	}
	changes := func(*store.Snapshot) (store.Changes, error) {
		return store.Changes{Put: map[string][]byte{
			"accounts/acme": []byte("{\n  \"id\": \"acme\",  \"keys\": [ {\"kid\": \"k1\", \"secret\": \"m1.c2VhbGVk\"} ]\n}"),
			"apps/com.x":    []byte(`{"id": "com.x", "account": "acme"}`),
			"bans":          []byte(`{"devices": ["a<b>&c"]}`),
		}}, nil
	}
	rev := mustUpdate(t, s, changes)
	mustUpdate(t, fs, changes)
	es, err := s.Load(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	fsnap, _ := fs.Load(ctxT(t))
	if es.Revision != rev || len(es.Entries) != 3 {
		t.Fatalf("etcd snapshot at %d (update said %d): %v", es.Revision, rev, es.Entries)
	}
	raw := c.Client(t)
	for k, fe := range fsnap.Entries {
		ee := es.Entries[k]
		if !bytes.Equal(ee.Value, fe.Value) {
			t.Errorf("%s: etcd holds %s, file store %s", k, ee.Value, fe.Value)
		}
		resp, err := raw.Get(ctxT(t), "attestd/"+k)
		if err != nil || len(resp.Kvs) != 1 || resp.Kvs[0].ModRevision != ee.ModRevision || !bytes.Equal(resp.Kvs[0].Value, fe.Value) {
			t.Errorf("%s: raw etcd %v (%v), entry mod revision %d", k, resp, err, ee.ModRevision)
		}
	}
	if _, ok := es.Get(MetaKey); ok {
		t.Error("the meta key shows in snapshots")
	}
	// Changes that change nothing write nothing.
	if r, err := s.Update(ctxT(t), func(*store.Snapshot) (store.Changes, error) { return store.Changes{}, nil }); err != nil || r != rev {
		t.Errorf("empty change: %d %v, want %d", r, err, rev)
	}
	// Deletes.
	mustUpdate(t, s, func(*store.Snapshot) (store.Changes, error) { return store.Changes{Delete: []string{"bans"}}, nil })
	if es, _ = s.Load(ctxT(t)); len(es.Entries) != 2 {
		t.Errorf("after delete: %v", es.Entries)
	}
}

// TestUpdateRetriesOnConcurrentChange: concurrent read-modify-write cycles
// lose nothing; puts by other writers and deletes by other Updates (the
// meta key) are both seen as conflicts.
func TestUpdateRetriesOnConcurrentChange(t *testing.T) {
	c := etcdtest.Start(t, etcdtest.Options{Members: 1})
	a := open(t, c.Endpoints(), "p", nil)
	b := open(t, c.Endpoints(), "p", func(o *Options) { o.MaxUpdateTries = 100 })
	incr := func(snap *store.Snapshot) (store.Changes, error) {
		n := 0
		if e, ok := snap.Get("counter"); ok {
			n, _ = strconv.Atoi(string(e.Value))
		}
		return store.Changes{Put: map[string][]byte{"counter": []byte(strconv.Itoa(n + 1))}}, nil
	}
	var wg sync.WaitGroup
	errs := make(chan error, 40)
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 5 {
				if _, err := b.Update(ctxT(t), incr); err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	snap, _ := a.Load(ctxT(t))
	if e, _ := snap.Get("counter"); string(e.Value) != "20" {
		t.Fatalf("counter = %s after 20 concurrent increments", e.Value)
	}

	mustUpdate(t, a, puts("x", `1`, "y", `1`))
	raw := c.Client(t)
	for name, interfere := range map[string]func(){
		"raw put": func() { _, _ = raw.Put(ctxT(t), "p/z", `1`) },
		"delete by Update": func() {
			mustUpdate(t, b, func(*store.Snapshot) (store.Changes, error) { return store.Changes{Delete: []string{"y"}}, nil })
		},
	} {
		calls := 0
		_, err := a.Update(ctxT(t), func(snap *store.Snapshot) (store.Changes, error) {
			calls++
			if calls == 1 {
				interfere()
			}
			return store.Changes{Put: map[string][]byte{"seen": []byte(strconv.Itoa(len(snap.Entries)))}}, nil
		})
		if err != nil || calls != 2 {
			t.Errorf("%s: %d calls, %v; want a retry", name, calls, err)
		}
	}
}

func TestUpdateRefusesWhatEtcdCannotTake(t *testing.T) {
	c := etcdtest.Start(t, etcdtest.Options{Members: 1})
	s := open(t, c.Endpoints(), "p", nil)
	mustUpdate(t, s, puts("keep", `true`))
	big := `"` + strings.Repeat("a", DefaultMaxRequestBytes) + `"`
	many := store.Changes{Put: map[string][]byte{}}
	for i := range DefaultMaxTxnOps {
		many.Put[fmt.Sprintf("apps/%d", i)] = []byte(`{}`)
	}
	half := `"` + strings.Repeat("b", DefaultMaxRequestBytes/2) + `"`
	cases := map[string]struct {
		ch   store.Changes
		want error
	}{
		"value over 1.5 MiB":          {store.Changes{Put: map[string][]byte{"big": []byte(big)}}, ErrTooLarge},
		"change over 1.5 MiB":         {store.Changes{Put: map[string][]byte{"a": []byte(half), "b": []byte(half)}}, ErrTooLarge},
		"more records than txn ops":   {many, ErrTooLarge},
		"reserved key":                {store.Changes{Put: map[string][]byte{"_rev": []byte(`1`)}}, ErrBadChanges},
		"empty key":                   {store.Changes{Delete: []string{""}}, ErrBadChanges},
		"put and delete":              {store.Changes{Put: map[string][]byte{"k": []byte(`1`)}, Delete: []string{"k"}}, ErrBadChanges},
		"not JSON":                    {store.Changes{Put: map[string][]byte{"k": []byte(`{`)}}, ErrBadChanges},
		"good records beside the bad": {store.Changes{Put: map[string][]byte{"ok": []byte(`1`), "bad": []byte(`nope`)}}, ErrBadChanges},
	}
	for name, tc := range cases {
		_, err := s.Update(ctxT(t), func(*store.Snapshot) (store.Changes, error) { return tc.ch, nil })
		if !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", name, err, tc.want)
		}
	}
	snap, _ := s.Load(ctxT(t))
	if len(snap.Entries) != 1 {
		t.Fatalf("something was written: %v", snap.Keys(""))
	}
	// The limit is etcd's: just under it goes through.
	fits := `"` + strings.Repeat("c", DefaultMaxRequestBytes-requestSlack-64) + `"`
	mustUpdate(t, s, puts("fits", fits))
}

func TestPagedLoadReadsOneRevision(t *testing.T) {
	c := etcdtest.Start(t, etcdtest.Options{Members: 1})
	s := open(t, c.Endpoints(), "p", func(o *Options) { o.PageSize = 3 })
	var kv []string
	for i := range 10 {
		kv = append(kv, fmt.Sprintf("apps/%02d", i), fmt.Sprintf(`{"n":%d}`, i))
	}
	rev := mustUpdate(t, s, puts(kv...))
	// A neighbour prefix is not ours.
	other := open(t, c.Endpoints(), "p2", nil)
	mustUpdate(t, other, puts("apps/zz", `{}`))
	snap, err := s.Load(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	if len(snap.Entries) != 10 || snap.Revision <= rev {
		t.Fatalf("%d entries at %d: %v", len(snap.Entries), snap.Revision, snap.Keys(""))
	}
	for _, k := range snap.Keys("") {
		if snap.Entries[k].ModRevision != rev {
			t.Errorf("%s at %d, want %d", k, snap.Entries[k].ModRevision, rev)
		}
	}
}
