package filestore

import (
	"context"
	"fmt"
	"os"
	"syscall"
	"time"

	"github.com/attestd/attestd/store"
)

// fileID tells whether the state file was replaced or changed.
type fileID struct {
	size  int64
	mtime time.Time
	ino   uint64
	dev   uint64
}

func statID(path string) (fileID, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return fileID{}, err
	}
	id := fileID{size: fi.Size(), mtime: fi.ModTime()}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		id.ino, id.dev = uint64(st.Ino), uint64(st.Dev)
	}
	return id, nil
}

// Watch polls the state file every PollInterval and calls apply with each
// snapshot whose revision is higher than the last one seen (from's, or 0
// when from is nil). The state file is only ever replaced by rename, so a
// half-written state is never seen. Read failures are reported to
// Options.OnError and retried at the next poll. Watch returns nil when ctx
// ends. apply runs on Watch's goroutine.
func (s *Store) Watch(ctx context.Context, from *store.Snapshot, apply func(*store.Snapshot)) error {
	var last int64
	if from != nil {
		last = from.Revision
	}
	var seen fileID
	var behind string // why the state file is not what the node serves, while it is behind
	t := time.NewTicker(s.opts.PollInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		if s.closed.Load() {
			return ErrClosed
		}
		id, err := statID(s.path(StateFileName))
		if err != nil {
			if !os.IsNotExist(err) {
				s.report(fmt.Errorf("filestore: watch: %w", err))
			}
			s.health.fail(fmt.Sprintf("state file: %v", err))
			continue
		}
		if id == seen {
			if behind != "" {
				s.health.fail(behind)
			} else {
				s.health.contact()
			}
			continue
		}
		snap, err := s.read()
		if err != nil {
			s.report(fmt.Errorf("filestore: watch: %w", err))
			s.health.fail(err.Error())
			continue
		}
		seen = id
		switch {
		case snap.Revision > last:
			last, behind = snap.Revision, ""
			apply(snap)
			s.health.contact()
		case snap.Revision < last:
			err := fmt.Errorf("filestore: watch: state file went back to revision %d from %d; ignored until it passes %d",
				snap.Revision, last, last)
			s.report(err)
			behind = err.Error()
			s.health.fail(behind)
		default:
			behind = ""
			s.health.contact()
		}
	}
}

func (s *Store) report(err error) {
	if s.opts.OnError != nil {
		s.opts.OnError(err)
	}
}
