package filestore

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/attestd/attestd/crypto/secret"
	"github.com/attestd/attestd/store"
)

// MaxMasterKeyFileBytes bounds a master key file read.
const MaxMasterKeyFileBytes = 64 << 10

// MissingKeyError is the refusal to create <dir>/master.key for a store
// that already holds records: they were sealed and tagged under the key
// that is missing, and a new key would open none of them. It matches
// ErrNoMasterKey. State is the store as read (records as stored), for the
// caller to say which keys the records need.
type MissingKeyError struct {
	Path  string
	State *store.Snapshot
}

func (e *MissingKeyError) Error() string {
	return fmt.Sprintf("%v: %s; the store holds %d records sealed under it (restore the file; a new key would open none of them)",
		ErrNoMasterKey, e.Path, len(e.State.Entries))
}

func (e *MissingKeyError) Is(target error) bool { return target == ErrNoMasterKey }

// loadMasterKey reads the master key file, creating <dir>/master.key first
// when it is missing, Options.NewMasterKey allows, and the store holds no
// record yet (a new store). A store with records and no key file is
// refused (*MissingKeyError) before anything is created.
func (s *Store) loadMasterKey(ctx context.Context) (secret.Value, error) {
	if s.opts.MasterKeyFile != "" {
		return readMasterKey(s.opts.MasterKeyFile)
	}
	path := s.path(MasterKeyFileName)
	v, err := readMasterKey(path)
	if !errors.Is(err, fs.ErrNotExist) {
		return v, err
	}
	if s.opts.NewMasterKey == nil {
		return secret.Value{}, fmt.Errorf("%w: %s", ErrNoMasterKey, path)
	}
	// Refuse a store with records before taking the lock (which would
	// create the lock file), and again under it.
	if err := s.mayCreateKey(path); err != nil {
		return secret.Value{}, err
	}
	// Create under the write lock, so two first users agree on one key.
	unlock, err := s.lock(ctx)
	if err != nil {
		return secret.Value{}, err
	}
	defer unlock()
	if v, err := readMasterKey(path); !errors.Is(err, fs.ErrNotExist) {
		return v, err
	}
	if err := s.mayCreateKey(path); err != nil {
		return secret.Value{}, err
	}
	content, err := s.opts.NewMasterKey()
	if err != nil {
		return secret.Value{}, fmt.Errorf("filestore: new master key: %w", err)
	}
	defer clear(content)
	if err := s.createExclusive(MasterKeyFileName, content); err != nil {
		return secret.Value{}, err
	}
	return readMasterKey(path)
}

// mayCreateKey returns nil when the store holds no record (no state file,
// or one without entries): a new key then seals nothing that exists. A
// state file that cannot be read is an error too: what it holds is not
// known.
func (s *Store) mayCreateKey(path string) error {
	snap, err := s.read()
	if err != nil {
		return fmt.Errorf("%w: %s, and the state file does not read: %w", ErrNoMasterKey, path, err)
	}
	if len(snap.Entries) > 0 {
		return &MissingKeyError{Path: path, State: snap}
	}
	return nil
}

// readMasterKey is ReadMasterKeyFile with its errors said to be the file
// store's.
func readMasterKey(path string) (secret.Value, error) {
	v, err := ReadMasterKeyFile(path)
	if err != nil {
		return v, fmt.Errorf("filestore: master key: %w", err)
	}
	return v, nil
}

// createExclusive writes a new file atomically, failing if it exists:
// temporary file (0600), fsync, hard link to the final name, fsync dir.
func (s *Store) createExclusive(name string, data []byte) (err error) {
	tmp, err := os.CreateTemp(s.dir, name+".tmp-*")
	if err != nil {
		return fmt.Errorf("filestore: create %s: %w", name, err)
	}
	defer func() { _ = os.Remove(tmp.Name()) }()
	if err := tmp.Chmod(0o600); err != nil {
		_ = tmp.Close()
		return fmt.Errorf("filestore: chmod %s: %w", name, err)
	}
	if _, err := tmp.Write(data); err != nil {
		_ = tmp.Close()
		return fmt.Errorf("filestore: write %s: %w", name, err)
	}
	if err := tmp.Sync(); err != nil {
		_ = tmp.Close()
		return fmt.Errorf("filestore: fsync %s: %w", name, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("filestore: close %s: %w", name, err)
	}
	if err := os.Link(tmp.Name(), s.path(name)); err != nil {
		return fmt.Errorf("filestore: create %s: %w", name, err)
	}
	return syncDir(s.dir)
}

// ReadMasterKeyFile reads a master key file, refusing one that group or
// others may access (ErrMasterKeyMode) and one that is not a regular file.
// The error for a missing file wraps fs.ErrNotExist. Its errors name the
// file but no store (any store's master key file is read with it): the
// caller says which store it is for.
func ReadMasterKeyFile(path string) (secret.Value, error) {
	f, err := os.Open(path)
	if err != nil {
		return secret.Value{}, err // *fs.PathError: "open PATH: why"
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return secret.Value{}, err
	}
	if !fi.Mode().IsRegular() {
		return secret.Value{}, fmt.Errorf("%s is not a regular file", path)
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		return secret.Value{}, fmt.Errorf("%w: %s has mode %#o", ErrMasterKeyMode, path, perm)
	}
	if fi.Size() > MaxMasterKeyFileBytes {
		return secret.Value{}, fmt.Errorf("%s is larger than %d bytes", path, MaxMasterKeyFileBytes)
	}
	buf := make([]byte, fi.Size())
	n, err := f.ReadAt(buf, 0)
	if err != nil && n != len(buf) {
		return secret.Value{}, fmt.Errorf("read %s: %w", path, err)
	}
	v := secret.New(buf[:n])
	clear(buf)
	return v, nil
}
