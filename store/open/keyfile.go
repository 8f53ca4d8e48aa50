package open

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/attestd/attestd/crypto/envelope"
	"github.com/attestd/attestd/internal/hint"
)

// KeyFileError is the refusal of a store of kind Scheme that keeps no
// master key of its own (etcd), opened without a master key file (Path
// "", Err nil) or with one that is not there (Err wraps fs.ErrNotExist).
// It wraps ErrMasterKey. Its text says what to give; the command that
// makes the file is for the caller to add (Hint), built as it builds its
// other hints: only it knows how the user runs attestctl and which flags
// name the store.
type KeyFileError struct {
	Scheme, Path string
	Err          error
}

func (e *KeyFileError) Error() string {
	if e.Err == nil {
		return fmt.Sprintf("%s store: %v: give --master-key FILE, the same file on every node and for attestctl "+
			"(the key that seals the secrets is never stored in %s)", e.Scheme, ErrMasterKey, e.Scheme)
	}
	return fmt.Sprintf("%s store: %v; give the same file to every node and to attestctl", e.Scheme, e.Err)
}

func (e *KeyFileError) Unwrap() []error {
	if e.Err == nil {
		return []error{ErrMasterKey}
	}
	return []error{ErrMasterKey, e.Err}
}

// HintKeyFile is the file Hint creates when no --master-key was given: a
// name in the working directory.
const HintKeyFile = "master.key"

// Hint is what to run for a new store: ctl(args...) must return the
// attestctl command line that runs args on this store, with the flags the
// user gave that locate it but without --master-key (init refuses it
// beside --new-master-key). The command, last, writes the key file (Path,
// or HintKeyFile) and initialises the store with it.
func (e *KeyFileError) Hint(ctl func(args ...string) string) string {
	path := e.Path
	if path == "" {
		path = HintKeyFile
	}
	return fmt.Sprintf("for a new store, create the file and initialise the store with it (then give --master-key %s "+
		"to every node and to attestctl): %s", hint.Quote(path), ctl("init", "--new-master-key", path))
}

// readKeyring reads the master key file of a store of kind scheme (not
// the file store, which keeps its own). A missing file is a *KeyFileError.
func readKeyring(scheme, path string) (*envelope.Keyring, error) {
	_, ks, err := ReadKeySet(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, &KeyFileError{Scheme: scheme, Path: path, Err: err}
	}
	if err != nil {
		return nil, fmt.Errorf("%s store: %w", scheme, err)
	}
	kr, err := ks.Keyring()
	if err != nil {
		return nil, fmt.Errorf("%s store: %w file %s: %w", scheme, ErrMasterKey, path, err)
	}
	return kr, nil
}

// CreateMasterKeyFile writes a new master key file at path holding one
// fresh key (MasterKeyID, from rnd; nil: crypto/rand) and returns its id.
// It never replaces a file: one already at path (or a dangling symlink)
// is an error wrapping fs.ErrExist, and nothing is written. The file is
// created with mode 0600 in path's directory, written, fsynced, and linked
// to its name (so it appears whole or not at all), then the directory is
// fsynced. No key shows in its errors.
func CreateMasterKeyFile(path string, rnd io.Reader) (kid string, err error) {
	if rnd == nil {
		rnd = rand.Reader
	}
	if _, err := os.Lstat(path); err == nil {
		return "", fmt.Errorf("%w file %s: %w: not replaced (a store's secrets are sealed under the key in it)", ErrMasterKey, path, fs.ErrExist)
	}
	content, err := envelope.NewKeyFile(MasterKeyID, rnd)
	if err != nil {
		return "", fmt.Errorf("%w file: new key: %w", ErrMasterKey, err)
	}
	defer clear(content)
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return "", fmt.Errorf("%w file: %w", ErrMasterKey, err)
	}
	defer func() { _ = os.Remove(tmp.Name()) }()
	if err = tmp.Chmod(0o600); err == nil {
		if _, err = tmp.Write(content); err == nil {
			err = tmp.Sync()
		}
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return "", fmt.Errorf("%w file: write %s: %w", ErrMasterKey, tmp.Name(), err)
	}
	if err := os.Link(tmp.Name(), path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return "", fmt.Errorf("%w file %s: %w: not replaced", ErrMasterKey, path, fs.ErrExist)
		}
		return "", fmt.Errorf("%w file: %w", ErrMasterKey, err)
	}
	d, err := os.Open(dir)
	if err != nil {
		return "", fmt.Errorf("%w file: %w", ErrMasterKey, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return "", fmt.Errorf("%w file: fsync %s: %w", ErrMasterKey, dir, err)
	}
	return MasterKeyID, nil
}
