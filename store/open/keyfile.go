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
)

// needKeyFile is the error for a store of kind scheme opened without a
// master key file, with how to make one.
func needKeyFile(scheme string) error {
	return fmt.Errorf("%s store: %w: give --master-key FILE, the same file on every node and for attestctl "+
		"(the key that seals the secrets is never stored in %s); create one with 'attestctl master-key new FILE', "+
		"or 'attestctl init --new-master-key FILE'", scheme, ErrMasterKey, scheme)
}

// readKeyring reads the master key file of a store of kind scheme (not
// the file store, which keeps its own). A missing file says how to make
// one.
func readKeyring(scheme, path string) (*envelope.Keyring, error) {
	_, ks, err := ReadKeySet(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%s store: %w; create it with 'attestctl master-key new %s' "+
			"(or 'attestctl init --new-master-key %s'), and give the same file to every node and to attestctl", scheme, err, path, path)
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
