package filestore

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/attestd/attestd/store"
)

func testKey() ([]byte, error) {
	return []byte("m1:" + "dGVzdCBrZXkgdGVzdCBrZXkgdGVzdCBrZXkgdGVzdCE=\n"), nil
}

func openTest(t *testing.T, dir string) *Store {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := Open(ctx, dir, Options{NewMasterKey: testKey, PollInterval: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func ctxT(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func put(kv ...string) func(*store.Snapshot) (store.Changes, error) {
	return func(*store.Snapshot) (store.Changes, error) {
		ch := store.Changes{Put: map[string][]byte{}}
		for i := 0; i < len(kv); i += 2 {
			ch.Put[kv[i]] = []byte(kv[i+1])
		}
		return ch, nil
	}
}

// increment adds one to the JSON number at key.
func increment(key string) func(*store.Snapshot) (store.Changes, error) {
	return func(s *store.Snapshot) (store.Changes, error) {
		n := 0
		if e, ok := s.Get(key); ok {
			if err := json.Unmarshal(e.Value, &n); err != nil {
				return store.Changes{}, err
			}
		}
		return store.Changes{Put: map[string][]byte{key: []byte(strconv.Itoa(n + 1))}}, nil
	}
}

func TestUpdateAndLoad(t *testing.T) {
	ctx := ctxT(t)
	s := openTest(t, t.TempDir())
	snap, err := s.Load(ctx)
	if err != nil || snap.Revision != 0 || len(snap.Entries) != 0 {
		t.Fatalf("empty store: %+v %v", snap, err)
	}
	rev, err := s.Update(ctx, put("accounts/a", `{"id":"a"}`, "bans", `{"devices":[]}`))
	if err != nil || rev != 1 {
		t.Fatalf("update: %d %v", rev, err)
	}
	rev, err = s.Update(ctx, func(*store.Snapshot) (store.Changes, error) {
		return store.Changes{Put: map[string][]byte{"apps/x": []byte(`{"id":"x"}`)}, Delete: []string{"bans"}}, nil
	})
	if err != nil || rev != 2 {
		t.Fatalf("update 2: %d %v", rev, err)
	}
	snap, _ = s.Load(ctx)
	a, _ := snap.Get("accounts/a")
	x, _ := snap.Get("apps/x")
	if _, ok := snap.Get("bans"); ok || a.ModRevision != 1 || x.ModRevision != 2 || string(a.Value) != `{"id":"a"}` {
		t.Fatalf("snapshot: %+v", snap)
	}
	// Changes that change nothing keep the revision.
	if rev, err := s.Update(ctx, func(*store.Snapshot) (store.Changes, error) { return store.Changes{}, nil }); err != nil || rev != 2 {
		t.Fatalf("empty update: %d %v", rev, err)
	}
	// fn's error is returned as is; nothing written.
	boom := errors.New("boom")
	if _, err := s.Update(ctx, func(*store.Snapshot) (store.Changes, error) { return store.Changes{}, boom }); !errors.Is(err, boom) {
		t.Fatalf("fn error: %v", err)
	}
	for name, ch := range map[string]store.Changes{
		"not-json":   {Put: map[string][]byte{"k": []byte("{")}},
		"empty-key":  {Put: map[string][]byte{"": []byte("1")}},
		"put-delete": {Put: map[string][]byte{"k": []byte("1")}, Delete: []string{"k"}},
	} {
		if _, err := s.Update(ctx, func(*store.Snapshot) (store.Changes, error) { return ch, nil }); !errors.Is(err, ErrBadChanges) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if snap, _ := s.Load(ctx); snap.Revision != 2 {
		t.Fatalf("revision moved to %d", snap.Revision)
	}
	_ = s.Close()
	if _, err := s.Load(ctx); !errors.Is(err, ErrClosed) {
		t.Fatalf("after close: %v", err)
	}
}

func TestFaultBeforeRenameLeavesOldState(t *testing.T) {
	ctx := ctxT(t)
	dir := t.TempDir()
	s := openTest(t, dir)
	if _, err := s.Update(ctx, put("a", "1", "b", "2")); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(filepath.Join(dir, StateFileName))
	fault := errors.New("power cut")
	s.beforeRename = func() error { return fault }
	if _, err := s.Update(ctx, put("a", "100", "c", "3")); !errors.Is(err, fault) {
		t.Fatalf("err = %v", err)
	}
	after, _ := os.ReadFile(filepath.Join(dir, StateFileName))
	if !bytes.Equal(before, after) {
		t.Fatal("state file changed by a failed write")
	}
	if temps := listTemps(t, dir); len(temps) != 0 {
		t.Fatalf("temporary files left: %v", temps)
	}
}

func TestLeftoverTempFileIgnoredAndRemoved(t *testing.T) {
	ctx := ctxT(t)
	dir := t.TempDir()
	s := openTest(t, dir)
	if _, err := s.Update(ctx, put("a", "1")); err != nil {
		t.Fatal(err)
	}
	// What a writer killed mid-write leaves: a half-written temporary file.
	half := filepath.Join(dir, StateFileName+".tmp-123456")
	if err := os.WriteFile(half, []byte(`{"revision": 99, "entries": {"a": {"val`), 0o600); err != nil {
		t.Fatal(err)
	}
	snap, err := s.Load(ctx)
	if err != nil || snap.Revision != 1 {
		t.Fatalf("load with leftover: %+v %v", snap, err)
	}
	if _, err := s.Update(ctx, put("b", "2")); err != nil {
		t.Fatal(err)
	}
	if temps := listTemps(t, dir); len(temps) != 0 {
		t.Fatalf("leftover not removed: %v", temps)
	}
}

func listTemps(t *testing.T, dir string) []string {
	t.Helper()
	m, _ := filepath.Glob(filepath.Join(dir, StateFileName+".tmp-*"))
	return m
}

func TestConcurrentGoroutinesLoseNoUpdate(t *testing.T) {
	ctx := ctxT(t)
	dir := t.TempDir()
	const workers, each = 8, 25
	shared := openTest(t, dir)
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Half share one *Store, half open their own, as separate
			// attestctl processes would.
			s := shared
			if w%2 == 1 {
				s = openTest(t, dir)
			}
			for range each {
				if _, err := s.Update(ctx, increment("counter")); err != nil {
					errs <- fmt.Errorf("worker %d: %w", w, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	assertCounter(t, dir, workers*each)
}

func assertCounter(t *testing.T, dir string, want int) {
	t.Helper()
	snap, err := openTest(t, dir).Load(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	e, _ := snap.Get("counter")
	if got, _ := strconv.Atoi(string(e.Value)); got != want || snap.Revision != int64(want) {
		t.Fatalf("counter = %s at revision %d, want %d", e.Value, snap.Revision, want)
	}
}

// The helper process: run by the tests below through os.Args[0].
const (
	envHelperDir  = "FILESTORE_TEST_HELPER_DIR"
	envHelperMode = "FILESTORE_TEST_HELPER_MODE"
	helperCount   = 40
)

func TestHelperProcess(t *testing.T) {
	dir := os.Getenv(envHelperDir)
	if dir == "" {
		t.Skip("helper process only")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	s, err := Open(ctx, dir, Options{NewMasterKey: testKey})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	switch os.Getenv(envHelperMode) {
	case "increment":
		for range helperCount {
			if _, err := s.Update(ctx, increment("counter")); err != nil {
				fmt.Fprintln(os.Stderr, err)
				os.Exit(2)
			}
		}
		os.Exit(0)
	case "crash":
		// Die like a killed process: after the temporary file is written
		// and before the rename, holding the lock.
		s.beforeRename = func() error { os.Exit(3); return nil }
		_, _ = s.Update(ctx, put("a", "999", "half", "1"))
		os.Exit(4)
	}
	os.Exit(5)
}

func helper(t *testing.T, dir, mode string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), envHelperDir+"="+dir, envHelperMode+"="+mode)
	cmd.Stderr = os.Stderr
	return cmd
}

func TestTwoProcessesLoseNoUpdate(t *testing.T) {
	dir := t.TempDir()
	a, b := helper(t, dir, "increment"), helper(t, dir, "increment")
	if err := a.Start(); err != nil {
		t.Fatal(err)
	}
	if err := b.Start(); err != nil {
		t.Fatal(err)
	}
	// And this process writes at the same time.
	s := openTest(t, dir)
	for range helperCount {
		if _, err := s.Update(ctxT(t), increment("counter")); err != nil {
			t.Fatal(err)
		}
	}
	if err := a.Wait(); err != nil {
		t.Fatalf("helper a: %v", err)
	}
	if err := b.Wait(); err != nil {
		t.Fatalf("helper b: %v", err)
	}
	assertCounter(t, dir, 3*helperCount)
}

func TestProcessCrashMidWriteLeavesOldState(t *testing.T) {
	ctx := ctxT(t)
	dir := t.TempDir()
	s := openTest(t, dir)
	if _, err := s.Update(ctx, put("a", "1")); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(filepath.Join(dir, StateFileName))
	err := helper(t, dir, "crash").Run()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 3 {
		t.Fatalf("crash helper: %v", err)
	}
	after, _ := os.ReadFile(filepath.Join(dir, StateFileName))
	if !bytes.Equal(before, after) {
		t.Fatal("a crash mid-write changed the state file")
	}
	if len(listTemps(t, dir)) != 1 {
		t.Fatal("the crash left no temporary file: the test did not crash where meant")
	}
	snap, err := s.Load(ctx)
	if e, _ := snap.Get("a"); err != nil || string(e.Value) != "1" {
		t.Fatalf("after crash: %v %s", err, e.Value)
	}
	// The lock died with the process: the next write goes through.
	if _, err := s.Update(ctx, put("a", "2")); err != nil {
		t.Fatal(err)
	}
	if len(listTemps(t, dir)) != 0 {
		t.Fatal("leftover temporary file not cleaned")
	}
}
