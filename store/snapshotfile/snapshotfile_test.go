package snapshotfile

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/attestd/attestd/store"
)

func sample(rev int64) *store.Snapshot {
	return &store.Snapshot{Revision: rev, Entries: map[string]store.Entry{
		"accounts/acme": {Value: []byte(`{"id":"acme","keys":[{"kid":"k1","secret":"m1.sealed"}]}`), ModRevision: 2},
		"apps/com.x":    {Value: []byte(`{"id":"com.x"}`), ModRevision: rev},
		"bans":          {Value: []byte(`{"devices":["d1"]}`), ModRevision: 1},
	}}
}

func TestWriteReadRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "snap.json")
	at := time.Unix(1_700_000_000, 123_000_000)
	if err := Write(path, File{Snapshot: sample(7), Source: "etcd prefix p", ConfirmedAt: at}); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(path, at, at); err != nil { // so the mtime does not win
		t.Fatal(err)
	}
	f, err := Read(path, "etcd prefix p")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(f.Snapshot, sample(7)) || !f.ConfirmedAt.Equal(at) {
		t.Fatalf("round trip: %+v at %v", f.Snapshot, f.ConfirmedAt)
	}
	fi, _ := os.Stat(path)
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", fi.Mode().Perm())
	}
	ents, _ := os.ReadDir(filepath.Dir(path))
	if len(ents) != 1 {
		t.Errorf("leftover files: %v", ents)
	}
}

func TestReadRefuses(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "snap.json")
	if err := Write(path, File{Snapshot: sample(3), Source: "etcd prefix a", ConfirmedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	if _, err := Read(path, "etcd prefix b"); !errors.Is(err, ErrMismatch) {
		t.Errorf("other source: %v", err)
	}
	if _, err := Read(filepath.Join(dir, "missing"), "x"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing: %v", err)
	}
	good, _ := os.ReadFile(path)
	for name, data := range map[string]string{
		"truncated":    string(good[:len(good)/2]),
		"other-format": strings.Replace(string(good), Format, "attestd-snapshot/0", 1),
		"bad-mod-rev":  strings.Replace(string(good), `"mod_revision": 2`, `"mod_revision": 99`, 1),
		"not-json":     "hello",
	} {
		p := filepath.Join(dir, name)
		_ = os.WriteFile(p, []byte(data), 0o600)
		if _, err := Read(p, "etcd prefix a"); !errors.Is(err, ErrCorrupt) {
			t.Errorf("%s: %v, want ErrCorrupt", name, err)
		}
	}
	if _, err := Read(dir, "x"); err == nil {
		t.Error("a directory read as a snapshot")
	}
}

func TestTouchMovesConfirmedAt(t *testing.T) {
	path := filepath.Join(t.TempDir(), "snap.json")
	old := time.Now().Add(-time.Hour).Truncate(time.Second)
	if err := Write(path, File{Snapshot: sample(3), Source: "s", ConfirmedAt: old}); err != nil {
		t.Fatal(err)
	}
	_ = os.Chtimes(path, old, old)
	later := old.Add(30 * time.Minute)
	if err := Touch(path, later); err != nil {
		t.Fatal(err)
	}
	f, err := Read(path, "s")
	if err != nil || !f.ConfirmedAt.Equal(later) {
		t.Fatalf("confirmed at %v (%v), want %v", f.ConfirmedAt, err, later)
	}
	if err := Touch(filepath.Join(t.TempDir(), "none"), later); err != nil {
		t.Fatalf("touch of a missing file: %v", err)
	}
}

// TestWriterCoalesces, on the fake clock of a synctest bubble: the first
// offer is written at once; offers within the interval after a write are
// coalesced into one write at its end; and what is pending when the writer
// stops is written.
func TestWriterCoalesces(t *testing.T) { synctest.Test(t, writerCoalesces) }

func writerCoalesces(t *testing.T) {
	path := filepath.Join(t.TempDir(), "snap.json")
	const interval = 300 * time.Millisecond
	w := NewWriter(WriterConfig{Path: path, Source: "s", Interval: interval})
	holds := func(wantRev, wantWrites int64) {
		t.Helper()
		f, err := Read(path, "s")
		if err != nil || f.Snapshot.Revision != wantRev || w.Writes() != wantWrites {
			t.Fatalf("file holds %v (%v) after %d writes, want revision %d after %d", f.Snapshot, err, w.Writes(), wantRev, wantWrites)
		}
	}
	// A run that stops after 1 s: its 50 offers come within one interval.
	ctx, cancel := context.WithTimeout(t.Context(), time.Second)
	defer cancel()
	done := make(chan struct{})
	go func() { w.Run(ctx); close(done) }()
	w.Offer(sample(2))
	synctest.Wait()
	holds(2, 1)
	for rev := int64(3); rev <= 51; rev++ {
		w.Offer(sample(rev))
		synctest.Wait()
	}
	holds(2, 1)
	<-done // the interval ends, then the run
	holds(51, 2)

	// Another run: an offer past the interval is written at once, the next
	// waits for the interval, and is written when the run stops.
	ctx, cancel = context.WithCancel(t.Context())
	done = make(chan struct{})
	go func() { w.Run(ctx); close(done) }()
	w.Offer(sample(60))
	synctest.Wait()
	holds(60, 3)
	w.Offer(sample(61))
	synctest.Wait()
	holds(60, 3)
	cancel()
	<-done
	holds(61, 4)
}

func TestWriterRetriesAndTouches(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "later")
	path := filepath.Join(dir, "snap.json")
	var errs []error
	now := time.Now()
	clock := func() time.Time { return now }
	w := NewWriter(WriterConfig{Path: path, Source: "s", Interval: time.Millisecond, TouchInterval: time.Minute,
		Now: clock, OnError: func(err error) { errs = append(errs, err) }})
	w.Offer(sample(5))
	w.flush() // the directory does not exist yet
	if len(errs) != 1 || w.Writes() != 0 {
		t.Fatalf("errs %v, writes %d", errs, w.Writes())
	}
	w.Confirmed()
	w.flush() // still failing: no touch may claim the old file is current
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	w.flush()
	if w.Writes() != 1 {
		t.Fatalf("not retried: %d writes, errors %v", w.Writes(), errs)
	}
	now = now.Add(2 * time.Minute)
	w.Confirmed()
	w.flush()
	f, err := Read(path, "s")
	if err != nil || f.ConfirmedAt.Sub(now).Abs() > time.Second {
		t.Fatalf("confirmation not recorded: %v (%v), want %v", f.ConfirmedAt, err, now)
	}
}
