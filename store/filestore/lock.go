package filestore

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// lockRetry bounds the wait between two attempts at the lock.
const lockRetry = 10 * time.Millisecond

// lock takes the exclusive write lock of the directory, waiting until ctx
// ends. flock(2) locks belong to the open file description, so two
// goroutines of one process exclude each other as two processes do. The
// lock dies with the process: a crashed writer never leaves it held.
func (s *Store) lock(ctx context.Context) (unlock func(), err error) {
	f, err := os.OpenFile(s.path(LockFileName), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("filestore: open lock file: %w", err)
	}
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
		if err == nil {
			return func() {
				_ = unix.Flock(int(f.Fd()), unix.LOCK_UN)
				_ = f.Close()
			}, nil
		}
		if !errors.Is(err, unix.EWOULDBLOCK) && !errors.Is(err, unix.EINTR) {
			_ = f.Close()
			return nil, fmt.Errorf("filestore: lock: %w", err)
		}
		t.Reset(lockRetry)
		select {
		case <-ctx.Done():
			_ = f.Close()
			return nil, fmt.Errorf("filestore: waiting for the write lock: %w", ctx.Err())
		case <-t.C:
		}
	}
}
