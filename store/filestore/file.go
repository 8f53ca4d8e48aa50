package filestore

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/attestd/attestd/store"
)

// fileState is the state file: every entry's value is its raw JSON.
type fileState struct {
	Revision int64                `json:"revision"`
	Entries  map[string]fileEntry `json:"entries"`
}

type fileEntry struct {
	Value       json.RawMessage `json:"value"`
	ModRevision int64           `json:"mod_revision"`
}

// read loads the state file; a missing file is the empty store. A file
// that is not a regular file, or larger than s.maxState, is refused
// (ErrTooLarge) before it is read.
func (s *Store) read() (*store.Snapshot, error) {
	data, err := readBounded(s.path(StateFileName), s.maxState)
	if errors.Is(err, fs.ErrNotExist) {
		return &store.Snapshot{Entries: map[string]store.Entry{}}, nil
	}
	if err != nil {
		return nil, err
	}
	return decodeState(data)
}

// readBounded reads the regular file path, of at most limit bytes. Its
// error for a missing file wraps fs.ErrNotExist.
func readBounded(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
		return nil, fmt.Errorf("%w: read state: %w", store.ErrUnavailable, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("%w: read state: %w", store.ErrUnavailable, err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%w: %s is not a regular file", ErrCorrupt, path)
	}
	if fi.Size() > limit {
		return nil, fmt.Errorf("%w: %s is %d bytes, at most %d", ErrTooLarge, path, fi.Size(), limit)
	}
	// The file may have grown since: read one byte more than the bound.
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, fmt.Errorf("%w: read state: %w", store.ErrUnavailable, err)
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("%w: %s is more than %d bytes", ErrTooLarge, path, limit)
	}
	return data, nil
}

func decodeState(data []byte) (*store.Snapshot, error) {
	var fsState fileState
	if err := json.Unmarshal(data, &fsState); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	snap := &store.Snapshot{Revision: fsState.Revision, Entries: make(map[string]store.Entry, len(fsState.Entries))}
	for k, e := range fsState.Entries {
		if len(e.Value) == 0 {
			return nil, fmt.Errorf("%w: entry %q has no value", ErrCorrupt, k)
		}
		snap.Entries[k] = store.Entry{Value: e.Value, ModRevision: e.ModRevision}
	}
	return snap, nil
}

// next returns the snapshot after applying ch to cur at cur.Revision+1.
func next(cur *store.Snapshot, ch store.Changes) (*store.Snapshot, error) {
	rev := cur.Revision + 1
	n := &store.Snapshot{Revision: rev, Entries: make(map[string]store.Entry, len(cur.Entries)+len(ch.Put))}
	for k, e := range cur.Entries {
		n.Entries[k] = e
	}
	for k, v := range ch.Put {
		if k == "" {
			return nil, fmt.Errorf("%w: empty key", ErrBadChanges)
		}
		var c bytes.Buffer
		if err := json.Compact(&c, v); err != nil {
			return nil, fmt.Errorf("%w: value of %q is not JSON", ErrBadChanges, k)
		}
		n.Entries[k] = store.Entry{Value: c.Bytes(), ModRevision: rev}
	}
	for _, k := range ch.Delete {
		if _, both := ch.Put[k]; both {
			return nil, fmt.Errorf("%w: %q both put and deleted", ErrBadChanges, k)
		}
		delete(n.Entries, k)
	}
	return n, nil
}

// encodeState writes the state file: one line per entry, keys sorted, so
// the file stays readable and diffs well. Values are stored compact.
func encodeState(snap *store.Snapshot) ([]byte, error) {
	var buf bytes.Buffer
	fmt.Fprintf(&buf, "{\n  \"revision\": %d,\n  \"entries\": {", snap.Revision)
	for i, k := range slices.Sorted(maps.Keys(snap.Entries)) {
		e := snap.Entries[k]
		key, err := marshalNoEscape(k)
		if err != nil {
			return nil, fmt.Errorf("filestore: encode state: %w", err)
		}
		if i > 0 {
			buf.WriteByte(',')
		}
		fmt.Fprintf(&buf, "\n    %s: {\"mod_revision\": %d, \"value\": %s}", key, e.ModRevision, e.Value)
	}
	buf.WriteString("\n  }\n}\n")
	if !json.Valid(buf.Bytes()) {
		return nil, fmt.Errorf("filestore: encode state: %w: result is not JSON", ErrBadChanges)
	}
	return buf.Bytes(), nil
}

func marshalNoEscape(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

// writeAtomic replaces the file name in the store directory with data:
// temporary file in the same directory, fsync, rename, fsync directory.
// A crash at any point leaves either the old file or the new one.
func (s *Store) writeAtomic(name string, data []byte) (err error) {
	tmp, err := os.CreateTemp(s.dir, name+".tmp-*")
	if err != nil {
		return fmt.Errorf("filestore: create temporary file: %w", err)
	}
	defer func() {
		if err != nil {
			_ = os.Remove(tmp.Name())
		}
	}()
	if _, err = tmp.Write(data); err != nil {
		_ = tmp.Close()
		return fmt.Errorf("filestore: write %s: %w", tmp.Name(), err)
	}
	if err = tmp.Sync(); err != nil {
		_ = tmp.Close()
		return fmt.Errorf("filestore: fsync %s: %w", tmp.Name(), err)
	}
	if err = tmp.Close(); err != nil {
		return fmt.Errorf("filestore: close %s: %w", tmp.Name(), err)
	}
	if s.beforeRename != nil {
		if err = s.beforeRename(); err != nil {
			return err
		}
	}
	if err = os.Rename(tmp.Name(), s.path(name)); err != nil {
		return fmt.Errorf("filestore: rename into %s: %w", name, err)
	}
	return syncDir(s.dir)
}

// syncDir makes a rename or link in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("filestore: open dir: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("filestore: fsync dir: %w", err)
	}
	return nil
}

// removeTemps deletes temporary state files left by a crashed writer. Call
// it only while holding the write lock.
func (s *Store) removeTemps() {
	ents, _ := os.ReadDir(s.dir)
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), tempPrefix) && e.Type().IsRegular() {
			_ = os.Remove(filepath.Join(s.dir, e.Name()))
		}
	}
}
