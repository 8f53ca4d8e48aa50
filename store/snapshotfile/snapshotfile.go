// Package snapshotfile keeps a remote store's last-known-good snapshot on the
// node's disk, so a node that restarts while the store (etcd) is
// unreachable can serve what it served before.
//
// The file holds the store.Snapshot as the store holds it: every value is
// the record's JSON exactly as stored, and the stored form already seals
// every secret and private key with the master key (internal/state), so the
// file is encrypted at rest exactly as the store is and needs no second
// layer. It is still written with mode 0600.
//
// Writes are atomic (temporary file in the same directory, fsync, rename,
// fsync of the directory): a crash leaves the old file or the new one. The
// file's modification time is the last time the store confirmed the data
// current; a Writer bumps it while the store says nothing changed, so a
// restarted node knows how old its data really is.
//
// Any package of this module may import it; it imports only the standard
// library and package store.
package snapshotfile

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
	"time"

	"github.com/attestd/attestd/store"
)

// Format names the file format; a file of another format is refused.
const Format = "attestd-snapshot/1"

// MaxFileBytes bounds a snapshot file read (a guard against reading a wrong
// path such as a device or a huge log file): store.MaxFileBytes, the bound
// of the file store's state file too.
const MaxFileBytes = store.MaxFileBytes

// Sentinel errors of this package.
var (
	// ErrCorrupt: the file does not decode as a snapshot.
	ErrCorrupt = errors.New("snapshot: file is corrupt")
	// ErrMismatch: the file is the snapshot of another store (its Source
	// differs from the one asked for).
	ErrMismatch = errors.New("snapshot: file belongs to another store")
)

// File is a snapshot as kept on disk.
type File struct {
	// Snapshot is the store's content; never nil in a File returned by Read.
	Snapshot *store.Snapshot
	// Source names the store the snapshot came from (e.g. "etcd prefix
	// attestd"); Read refuses a file whose source differs.
	Source string
	// ConfirmedAt is when the store last confirmed the data current: the
	// later of the time written into the file and the file's modification
	// time (which Touch bumps).
	ConfirmedAt time.Time
}

// fileJSON is the encoded form: the file store's state layout plus a
// header.
type fileJSON struct {
	Format    string               `json:"format"`
	Source    string               `json:"source"`
	WrittenAt int64                `json:"written_at_unix_ms"`
	Revision  int64                `json:"revision"`
	Entries   map[string]fileEntry `json:"entries"`
}

type fileEntry struct {
	ModRevision int64           `json:"mod_revision"`
	Value       json.RawMessage `json:"value"`
}

// Encode returns the file content of f; f.ConfirmedAt is written as the
// time of writing.
func Encode(f File) ([]byte, error) {
	if f.Snapshot == nil {
		return nil, errors.New("snapshot: encode: nil snapshot")
	}
	src, err := json.Marshal(f.Source)
	if err != nil {
		return nil, fmt.Errorf("snapshot: encode: %w", err)
	}
	var buf bytes.Buffer
	fmt.Fprintf(&buf, "{\n  \"format\": %q,\n  \"source\": %s,\n  \"written_at_unix_ms\": %d,\n  \"revision\": %d,\n  \"entries\": {",
		Format, src, f.ConfirmedAt.UnixMilli(), f.Snapshot.Revision)
	for i, k := range slices.Sorted(maps.Keys(f.Snapshot.Entries)) {
		e := f.Snapshot.Entries[k]
		if !json.Valid(e.Value) {
			return nil, fmt.Errorf("snapshot: encode: value of %q is not JSON", k)
		}
		key, err := json.Marshal(k)
		if err != nil {
			return nil, fmt.Errorf("snapshot: encode: %w", err)
		}
		if i > 0 {
			buf.WriteByte(',')
		}
		fmt.Fprintf(&buf, "\n    %s: {\"mod_revision\": %d, \"value\": %s}", key, e.ModRevision, e.Value)
	}
	buf.WriteString("\n  }\n}\n")
	return buf.Bytes(), nil
}

// Decode parses file content. ConfirmedAt is the time written in it.
func Decode(data []byte) (File, error) {
	var fj fileJSON
	if err := json.Unmarshal(data, &fj); err != nil {
		return File{}, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	if fj.Format != Format {
		return File{}, fmt.Errorf("%w: format %q, want %q", ErrCorrupt, fj.Format, Format)
	}
	snap := &store.Snapshot{Revision: fj.Revision, Entries: make(map[string]store.Entry, len(fj.Entries))}
	for k, e := range fj.Entries {
		if k == "" || len(e.Value) == 0 || e.ModRevision <= 0 || e.ModRevision > fj.Revision {
			return File{}, fmt.Errorf("%w: entry %q", ErrCorrupt, k)
		}
		snap.Entries[k] = store.Entry{Value: []byte(e.Value), ModRevision: e.ModRevision}
	}
	return File{Snapshot: snap, Source: fj.Source, ConfirmedAt: time.UnixMilli(fj.WrittenAt)}, nil
}

// Write replaces the file at path with f atomically, mode 0600.
func Write(path string, f File) error {
	data, err := Encode(f)
	if err != nil {
		return err
	}
	return writeAtomic(path, data)
}

// Read reads the snapshot file at path, refusing one whose Source is not
// source. A missing file is an error that matches fs.ErrNotExist.
func Read(path, source string) (File, error) {
	fh, err := os.Open(path)
	if err != nil {
		return File{}, fmt.Errorf("snapshot: %w", err)
	}
	defer fh.Close()
	fi, err := fh.Stat()
	if err != nil {
		return File{}, fmt.Errorf("snapshot: %w", err)
	}
	if !fi.Mode().IsRegular() || fi.Size() > MaxFileBytes {
		return File{}, fmt.Errorf("%w: %s is not a regular file of at most %d bytes", ErrCorrupt, path, MaxFileBytes)
	}
	data, err := io.ReadAll(io.LimitReader(fh, MaxFileBytes))
	if err != nil {
		return File{}, fmt.Errorf("snapshot: read %s: %w", path, err)
	}
	f, err := Decode(data)
	if err != nil {
		return File{}, fmt.Errorf("%s: %w", path, err)
	}
	if f.Source != source {
		return File{}, fmt.Errorf("%w: %s holds %q, want %q", ErrMismatch, path, f.Source, source)
	}
	if mt := fi.ModTime(); mt.After(f.ConfirmedAt) {
		f.ConfirmedAt = mt
	}
	return f, nil
}

// Touch records that the data in the file at path was confirmed current at
// t (it sets the file's modification time). A missing file is not an
// error: there is nothing to confirm.
func Touch(path string, t time.Time) error {
	if err := os.Chtimes(path, t, t); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("snapshot: touch: %w", err)
	}
	return nil
}

// writeAtomic replaces path with data: temporary file in the same
// directory (0600), fsync, rename, fsync of the directory.
func writeAtomic(path string, data []byte) (err error) {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("snapshot: create temporary file: %w", err)
	}
	defer func() {
		if err != nil {
			_ = os.Remove(tmp.Name())
		}
	}()
	if err = tmp.Chmod(0o600); err != nil {
		_ = tmp.Close()
		return fmt.Errorf("snapshot: chmod %s: %w", tmp.Name(), err)
	}
	if _, err = tmp.Write(data); err != nil {
		_ = tmp.Close()
		return fmt.Errorf("snapshot: write %s: %w", tmp.Name(), err)
	}
	if err = tmp.Sync(); err != nil {
		_ = tmp.Close()
		return fmt.Errorf("snapshot: fsync %s: %w", tmp.Name(), err)
	}
	if err = tmp.Close(); err != nil {
		return fmt.Errorf("snapshot: close %s: %w", tmp.Name(), err)
	}
	if err = os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("snapshot: rename into %s: %w", path, err)
	}
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("snapshot: open dir: %w", err)
	}
	defer d.Close()
	if err = d.Sync(); err != nil {
		return fmt.Errorf("snapshot: fsync dir: %w", err)
	}
	return nil
}
