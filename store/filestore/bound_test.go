package filestore

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// allocated returns the bytes fn allocates.
func allocated(fn func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	fn()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// TestHugeStateFileIsRefusedUnread: someone who can write the store
// directory replaces state.json with a file past MaxStateFileBytes (here a
// sparse one: it costs no disk). Load and Update (Watch reads the same
// way) refuse it with ErrTooLarge before reading it: it used to be read
// whole, so a big enough file made a node use memory until it failed to
// start or reload.
func TestHugeStateFileIsRefusedUnread(t *testing.T) {
	dir := t.TempDir()
	s := openTest(t, dir)
	f, err := os.Create(filepath.Join(dir, StateFileName))
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(MaxStateFileBytes + 1); err != nil {
		t.Fatal(err)
	}
	_ = f.Close()
	var loadErr, updErr error
	if n := allocated(func() {
		_, loadErr = s.Load(ctxT(t))
		_, updErr = s.Update(ctxT(t), put("a", "1"))
	}); n > 1<<20 {
		t.Errorf("refusing the file allocated %d bytes: it was read", n)
	}
	for name, err := range map[string]error{"Load": loadErr, "Update": updErr} {
		if !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), StateFileName) {
			t.Errorf("%s of a %d-byte state file: %v, want ErrTooLarge naming the file", name, MaxStateFileBytes+1, err)
		}
	}
	if fi, _ := os.Stat(filepath.Join(dir, StateFileName)); fi.Size() != MaxStateFileBytes+1 {
		t.Error("the refused update wrote the state file")
	}
}

// TestStateFileThatIsNotAFileIsRefused: a state.json that is a directory
// or a device (a link to /dev/zero reads forever) is refused, not read.
func TestStateFileThatIsNotAFileIsRefused(t *testing.T) {
	dir := t.TempDir()
	s := openTest(t, dir)
	path := filepath.Join(dir, StateFileName)
	if _, err := os.Stat("/dev/zero"); err == nil {
		if err := os.Symlink("/dev/zero", path); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Load(ctxT(t)); !errors.Is(err, ErrCorrupt) {
			t.Errorf("Load of a link to /dev/zero: %v", err)
		}
		_ = os.Remove(path)
	}
	if err := os.Mkdir(path, 0o700); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Load(ctxT(t)); !errors.Is(err, ErrCorrupt) {
		t.Errorf("Load of a directory: %v", err)
	}
}

// TestUpdateRefusesToWriteAnOversizedState: a change that would make the
// state file larger than the bound is refused and writes nothing, so the
// store never holds a file its own readers refuse.
func TestUpdateRefusesToWriteAnOversizedState(t *testing.T) {
	dir := t.TempDir()
	s := openTest(t, dir)
	if _, err := s.Update(ctxT(t), put("a", "1")); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(filepath.Join(dir, StateFileName))
	s.maxState = int64(len(before)) + 64
	big := `"` + strings.Repeat("x", 100) + `"`
	if _, err := s.Update(ctxT(t), put("b", big)); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("Update past the bound: %v", err)
	}
	if after, _ := os.ReadFile(filepath.Join(dir, StateFileName)); !bytes.Equal(before, after) {
		t.Fatal("the refused update changed the state file")
	}
	if _, err := s.Load(ctxT(t)); err != nil {
		t.Fatalf("Load after the refusal: %v", err)
	}
}
