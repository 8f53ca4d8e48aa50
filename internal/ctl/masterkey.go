package ctl

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/attestd/attestd/crypto/envelope"
	"github.com/attestd/attestd/store/open"
)

// masterKeyPath is the master key file attestctl uses: --master-key, or a
// file store's own <dir>/master.key. An etcd store has no key of its own
// (the key that seals the secrets is never stored beside them).
func (r *runner) masterKeyPath() (string, error) {
	p, err := open.MasterKeyPath(r.g.storeURL, r.g.masterKey)
	if errors.Is(err, open.ErrMasterKey) {
		return "", asUsage(err)
	}
	return p, err
}

// keyFile is a master key file held under an exclusive lock, so that two
// attestctl runs never rewrite it at once.
type keyFile struct {
	path string // symlinks resolved: the file that is replaced
	lock *os.File
}

// lockKeyFile opens and flock(2)s the key file at path, waiting until ctx
// ends. The file is replaced by rename, so after taking the lock it checks
// that the path still names the file it locked, and starts over if not.
func lockKeyFile(ctx context.Context, path string) (*keyFile, error) {
	real, err := filepath.EvalSymlinks(path)
	if err != nil {
		return nil, fmt.Errorf("master key file: %w", err)
	}
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		f, err := os.Open(real)
		if err != nil {
			return nil, fmt.Errorf("master key file: %w", err)
		}
		err = unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
		if err == nil {
			held, _ := f.Stat()
			now, serr := os.Stat(real)
			if serr == nil && os.SameFile(held, now) {
				return &keyFile{path: real, lock: f}, nil
			}
			_ = f.Close() // replaced while we waited: lock the new one
			continue
		}
		_ = f.Close()
		if !errors.Is(err, unix.EWOULDBLOCK) && !errors.Is(err, unix.EINTR) {
			return nil, fmt.Errorf("master key file: lock: %w", err)
		}
		t.Reset(10 * time.Millisecond)
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("master key file: waiting for another attestctl: %w", ctx.Err())
		case <-t.C:
		}
	}
}

func (k *keyFile) unlock() { _ = k.lock.Close() }

// read parses the key file, refusing one that group or others may access.
func (k *keyFile) read() (*envelope.KeySet, error) {
	_, ks, err := open.ReadKeySet(k.path)
	return ks, err
}

// write replaces the key file with ks atomically and durably: temporary
// file (mode 0600) in the same directory, fsync, rename, fsync of the
// directory. A crash leaves the old file or the new one.
func (k *keyFile) write(ks *envelope.KeySet) (err error) {
	data := ks.Marshal()
	defer clear(data)
	dir := filepath.Dir(k.path)
	tmp, err := os.CreateTemp(dir, filepath.Base(k.path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("master key file: %w", err)
	}
	defer func() {
		if err != nil {
			_ = os.Remove(tmp.Name())
		}
	}()
	if err = tmp.Chmod(0o600); err == nil {
		if _, err = tmp.Write(data); err == nil {
			err = tmp.Sync()
		}
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("master key file: write %s: %w", tmp.Name(), err)
	}
	if err = os.Rename(tmp.Name(), k.path); err != nil {
		return fmt.Errorf("master key file: %w", err)
	}
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("master key file: %w", err)
	}
	defer d.Close()
	if err = d.Sync(); err != nil {
		return fmt.Errorf("master key file: fsync %s: %w", dir, err)
	}
	return nil
}

// nextMasterKID is "m" and one more than the highest m<N> listed.
func nextMasterKID(ids []string) string {
	highest := 0
	for _, id := range ids {
		if n, err := strconv.Atoi(strings.TrimPrefix(id, "m")); err == nil && strings.HasPrefix(id, "m") && n > highest {
			highest = n
		}
	}
	return "m" + strconv.Itoa(highest+1)
}

// step reports a point of a multi-step command to the test hook.
func (r *runner) step(name string) error {
	if r.cfg.afterStep == nil {
		return nil
	}
	return r.cfg.afterStep(name)
}
