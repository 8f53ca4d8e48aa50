package androidstatus

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/attestd/attestd/verify/androidkey"
)

// fileStamp is what tells a file changed: its size and modification time.
type fileStamp struct {
	size  int64
	mtime time.Time
}

// readBounded reads a file of at most MaxStatusListSize bytes, and its
// stamp.
func readBounded(path string) ([]byte, fileStamp, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fileStamp{}, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fileStamp{}, err
	}
	if !st.Mode().IsRegular() {
		return nil, fileStamp{}, fmt.Errorf("%s is not a regular file", path)
	}
	b, err := io.ReadAll(io.LimitReader(f, androidkey.MaxStatusListSize+1))
	if err != nil {
		return nil, fileStamp{}, err
	}
	if len(b) > androidkey.MaxStatusListSize {
		return nil, fileStamp{}, fail(ReasonTooLarge, "%s is over %d bytes", path, androidkey.MaxStatusListSize)
	}
	return b, fileStamp{size: st.Size(), mtime: st.ModTime()}, nil
}

// readFile reads a file source and installs its list, whose age is the
// file's modification time; ok is false when the file did not change.
func (k *Keeper) readFile() (bool, error) {
	b, stamp, err := readBounded(k.cfg.Source.File)
	if err != nil {
		if ReasonOf(err) == ReasonTransport {
			err = fail(ReasonFile, "%w", err)
		}
		return false, err
	}
	list, err := androidkey.ParseStatusList(b)
	if err != nil {
		return false, fail(ReasonMalformed, "%w", err)
	}
	if _, err := k.accept(list, b, stamp.mtime); err != nil {
		return false, err
	}
	k.mu.Lock()
	k.stamp = stamp
	k.mu.Unlock()
	return true, nil
}

// pollFile re-reads a file source whenever its size or modification time
// changes, until ctx ends.
func (k *Keeper) pollFile(ctx context.Context) error {
	var lastErr string
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-k.cfg.Clock.After(k.cfg.Poll):
		}
		st, err := os.Stat(k.cfg.Source.File)
		k.mu.Lock()
		same := err == nil && st.Size() == k.stamp.size && st.ModTime().Equal(k.stamp.mtime)
		k.mu.Unlock()
		if same {
			continue
		}
		if _, err := k.readFile(); err != nil {
			if err.Error() != lastErr { // a file left broken is reported once
				lastErr = err.Error()
				k.failed(err)
			}
			continue
		}
		lastErr = ""
		k.cfg.Attempted(nil)
	}
}

// loadCache installs the list of the cache file of a URL source, with its
// modification time as the fetch time; it reports whether one was
// installed. A missing cache is normal; a broken one is logged.
func (k *Keeper) loadCache() bool {
	if k.cfg.Cache == "" {
		return false
	}
	b, stamp, err := readBounded(k.cfg.Cache)
	if errors.Is(err, fs.ErrNotExist) {
		return false
	}
	var list *androidkey.StatusList
	if err == nil {
		list, err = androidkey.ParseStatusList(b)
	}
	if err == nil {
		_, err = k.accept(list, b, stamp.mtime)
	}
	if err != nil {
		k.cfg.Log.Warn("android status list cache unusable; fetching", "cache", k.cfg.Cache, "err", err)
		return false
	}
	k.cfg.Log.Info("android status list loaded from its cache", "cache", k.cfg.Cache, "entries", list.Len(), "fetched", stamp.mtime)
	return true
}

// writeCache keeps body in the cache file (written whole to a temporary
// file, synced, then renamed over it; only when changed), with its
// modification time set to the fetch time at. A failure is logged: the
// list is in force all the same.
func (k *Keeper) writeCache(body []byte, changed bool, at time.Time) {
	if k.cfg.Cache == "" {
		return
	}
	err := func() error {
		if !changed {
			if err := os.Chtimes(k.cfg.Cache, at, at); !errors.Is(err, fs.ErrNotExist) {
				return err
			}
		}
		tmp, err := os.CreateTemp(filepath.Dir(k.cfg.Cache), ".android-status-*")
		if err != nil {
			return err
		}
		defer os.Remove(tmp.Name())
		if _, err := tmp.Write(body); err != nil {
			tmp.Close()
			return err
		}
		if err := tmp.Sync(); err != nil {
			tmp.Close()
			return err
		}
		if err := tmp.Close(); err != nil {
			return err
		}
		if err := os.Chtimes(tmp.Name(), at, at); err != nil {
			return err
		}
		return os.Rename(tmp.Name(), k.cfg.Cache)
	}()
	if err != nil {
		k.cfg.Log.Warn("android status list cache not written; a restart without network would start without this list", "cache", k.cfg.Cache, "err", err)
	}
}
