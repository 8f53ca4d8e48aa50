package etcdstore

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/attestd/attestd/store"
	"github.com/attestd/attestd/store/snapshotfile"
)

// Load reads the whole store at one revision. When etcd cannot be reached
// (not when it refuses: bad credentials stay an error) and a snapshot file
// is configured, it serves the last-known-good snapshot instead and Health
// reports degraded, with LastContact the time that snapshot was last
// confirmed current. A successful read that Options.Accept accepts is
// written to the snapshot file before Load returns, so an unwritable
// snapshot path shows at start; one it refuses is returned but not
// written (the file keeps the last good state). The snapshot file is
// served only when Accept accepts it.
func (s *Store) Load(ctx context.Context) (*store.Snapshot, error) {
	if s.closed.Load() {
		return nil, ErrClosed
	}
	lctx, cancel := context.WithTimeout(ctx, s.opts.DialTimeout+s.opts.RequestTimeout)
	defer cancel()
	snap, err := s.read(lctx)
	if err == nil {
		s.loadedRev.Store(snap.Revision)
		if s.opts.SnapshotFile != "" && s.accept(snap) == nil {
			f := snapshotfile.File{Snapshot: snap, Source: s.Source(), ConfirmedAt: s.opts.Now()}
			if err := snapshotfile.Write(s.opts.SnapshotFile, f); err != nil {
				return nil, fmt.Errorf("etcdstore: last-known-good snapshot: %w", err)
			}
		}
		return snap, nil
	}
	if ctx.Err() != nil || s.opts.SnapshotFile == "" || !errors.Is(err, store.ErrUnavailable) {
		return nil, err
	}
	f, ferr := snapshotfile.Read(s.opts.SnapshotFile, s.Source())
	if ferr == nil {
		if aerr := s.accept(f.Snapshot); aerr != nil {
			ferr = fmt.Errorf("snapshot file %s refused: %w", s.opts.SnapshotFile, aerr)
		}
	}
	if ferr != nil {
		return nil, fmt.Errorf("%w: %w; and the snapshot file cannot serve: %w", ErrNoSnapshot, err, ferr)
	}
	note := fmt.Sprintf("serving the last-known-good snapshot %s (revision %d, confirmed current at %s): etcd unreachable since start",
		s.opts.SnapshotFile, f.Snapshot.Revision, f.ConfirmedAt.UTC().Format(time.RFC3339))
	s.health.servingSnapshot(f.ConfirmedAt, note)
	s.report(fmt.Errorf("etcdstore: %s: %w", note, err))
	return f.Snapshot, nil
}

// LastKnownGood reads the snapshot file (see store.LastKnownGood): nil
// and no error without a snapshot file, or when it does not exist yet.
func (s *Store) LastKnownGood() (*store.Snapshot, error) {
	if s.opts.SnapshotFile == "" {
		return nil, nil
	}
	f, err := snapshotfile.Read(s.opts.SnapshotFile, s.Source())
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return f.Snapshot, nil
}

// read reads every record under the prefix at one revision: the first page
// fixes the revision, the next pages read at it. A compaction between
// pages starts the read over.
func (s *Store) read(ctx context.Context) (*store.Snapshot, error) {
	for attempt := 0; ; attempt++ {
		snap, err := s.readOnce(ctx)
		if errors.Is(err, rpctypes.ErrCompacted) && attempt < 3 {
			continue
		}
		if err != nil {
			return nil, err
		}
		s.health.contact()
		return snap, nil
	}
}

func (s *Store) readOnce(ctx context.Context) (*store.Snapshot, error) {
	cli, err := s.client()
	if err != nil {
		return nil, err
	}
	end := clientv3.GetPrefixRangeEnd(s.prefix)
	snap := &store.Snapshot{Entries: map[string]store.Entry{}}
	from := s.prefix
	for {
		opts := []clientv3.OpOption{clientv3.WithRange(end), clientv3.WithLimit(s.opts.PageSize)}
		if snap.Revision != 0 {
			opts = append(opts, clientv3.WithRev(snap.Revision))
		}
		rctx, cancel := context.WithTimeout(ctx, s.opts.RequestTimeout)
		resp, err := cli.Get(rctx, from, opts...)
		cancel()
		if err != nil {
			return nil, wrap(fmt.Sprintf("read %v", s.opts.Endpoints), err)
		}
		if snap.Revision == 0 {
			snap.Revision = resp.Header.Revision
		}
		for _, kv := range resp.Kvs {
			if k, ok := s.storeKey(kv.Key); ok {
				snap.Entries[k] = store.Entry{Value: kv.Value, ModRevision: kv.ModRevision}
			}
		}
		if !resp.More || len(resp.Kvs) == 0 {
			return snap, nil
		}
		from = string(resp.Kvs[len(resp.Kvs)-1].Key) + "\x00"
	}
}
