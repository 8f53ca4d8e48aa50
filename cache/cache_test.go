package cache

import (
	"errors"
	"sync"
	"sync/atomic"
	"testing"
)

type fakeStore struct {
	gen   uint64
	items map[string]int64 // id -> modRevision
}

func (s *fakeStore) version(id string) func() Version {
	return func() Version {
		m, ok := s.items[id]
		return Version{Gen: s.gen, Present: ok, ModRevision: m}
	}
}

func TestReadThroughRebuildsOnlyWhenTheStoreChanged(t *testing.T) {
	c, err := New[string](1000)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	s := &fakeStore{gen: 1, items: map[string]int64{"a": 5}}
	builds := 0
	build := func(v string) func() (string, error) {
		return func() (string, error) { builds++; return v, nil }
	}
	get := func(id, want string, wantPresent bool) {
		t.Helper()
		got, present, err := c.Get(id, s.gen, s.version(id), build(want))
		if err != nil || present != wantPresent || (present && got != want) {
			t.Fatalf("Get(%q) = %q %v %v, want %q %v", id, got, present, err, want, wantPresent)
		}
		c.Wait()
	}
	get("a", "v5", true)
	get("a", "v5", true)
	if builds != 1 {
		t.Fatalf("builds = %d, want 1 (second lookup must hit)", builds)
	}
	// A swap that does not touch "a": re-confirmed, not rebuilt.
	s.gen = 2
	get("a", "v5", true)
	if builds != 1 {
		t.Fatalf("builds = %d after unrelated swap, want 1", builds)
	}
	// The store changes "a": rebuilt.
	s.gen, s.items["a"] = 3, 9
	get("a", "v9", true)
	if builds != 2 {
		t.Fatalf("builds = %d after change, want 2", builds)
	}
	// Unknown ids are cached as absent; when created they appear.
	get("b", "", false)
	get("b", "", false)
	s.gen, s.items["b"] = 4, 10
	get("b", "vb", true)
	// Deleted ids disappear.
	s.gen = 5
	delete(s.items, "a")
	get("a", "", false)
}

func TestReadThroughSharesConcurrentBuildsAndReportsErrors(t *testing.T) {
	c, err := New[int](1000)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	s := &fakeStore{gen: 1, items: map[string]int64{"x": 1}}
	const callers = 16
	var builds, missed atomic.Int32
	allMissed := make(chan struct{})
	version := func() Version {
		if missed.Add(1) == callers {
			close(allMissed)
		}
		return s.version("x")()
	}
	var wg sync.WaitGroup
	for range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			v, ok, err := c.Get("x", s.gen, version, func() (int, error) {
				builds.Add(1)
				<-allMissed // every caller has missed before the build ends
				return 7, nil
			})
			if err != nil || !ok || v != 7 {
				t.Errorf("Get = %v %v %v", v, ok, err)
			}
		}()
	}
	wg.Wait()
	if n := builds.Load(); n != 1 {
		t.Fatalf("builds = %d, want %d concurrent misses to share one build", n, callers)
	}
	boom := errors.New("boom")
	s.items["y"] = 2
	if _, _, err := c.Get("y", s.gen, s.version("y"), func() (int, error) { return 0, boom }); !errors.Is(err, boom) {
		t.Fatalf("err = %v, want boom", err)
	}
}
