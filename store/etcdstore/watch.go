package etcdstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/attestd/attestd/store"
	"github.com/attestd/attestd/store/snapshotfile"
)

// Watch follows the store from `from` and calls apply with every newer
// snapshot, in revision order, on Watch's goroutine, until ctx ends (it
// then returns nil) or the store is closed (ErrClosed). Everything else is
// transient: it is reported to Options.OnError, shown by Health, and
// retried with backoff; a node keeps serving what it has meanwhile.
//
// Each cycle reads the store (skipped for a `from` that Load has just read
// from etcd), then watches from the next revision with WithRequireLeader.
// A compacted revision starts the next cycle at once; a lost watch, or one
// that stays silent for StaleAfter while progress is requested every
// ProgressInterval, after a backoff. With a snapshot file, every snapshot
// published is written to it (at most once per SnapshotInterval).
func (s *Store) Watch(ctx context.Context, from *store.Snapshot, apply func(*store.Snapshot)) error {
	if s.closed.Load() {
		return ErrClosed
	}
	f := &follower{s: s, apply: apply, cur: from}
	fresh := false
	if from != nil {
		f.rev = from.Revision
		fresh = from.Revision != 0 && from.Revision == s.loadedRev.Load()
		if fresh && s.accept(from) == nil {
			f.kept = from // Load wrote it
		}
	}
	if s.opts.SnapshotFile != "" {
		f.writer = snapshotfile.NewWriter(snapshotfile.WriterConfig{
			Path: s.opts.SnapshotFile, Source: s.Source(), Interval: s.opts.SnapshotInterval,
			Now: s.opts.Now, OnError: s.report,
		})
		wctx, stop := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { defer close(done); f.writer.Run(wctx) }()
		defer func() { stop(); <-done }() // the writer flushes what is pending
	}
	return f.run(ctx, !fresh)
}

// follower is one Watch's state.
type follower struct {
	s     *Store
	apply func(*store.Snapshot)
	// cur is the snapshot published last (or from).
	cur *store.Snapshot
	// rev: every change up to rev is in cur (rev may pass cur.Revision when
	// etcd confirms that nothing under the prefix changed since).
	rev    int64
	writer *snapshotfile.Writer // nil without a snapshot file
	// kept is the snapshot offered to the writer last: cur once Accept
	// accepted it; older while cur is refused.
	kept *store.Snapshot
}

func (f *follower) run(ctx context.Context, needRead bool) error {
	bo := newBackoff(f.s.opts.MinBackoff, f.s.opts.MaxBackoff)
	compactedLast := false
	for {
		if ctx.Err() != nil {
			return nil
		}
		if f.s.closed.Load() {
			return ErrClosed
		}
		if needRead {
			snap, err := f.s.read(ctx)
			if err != nil {
				if ctx.Err() != nil {
					return nil
				}
				f.lost(fmt.Errorf("etcdstore: watch: re-read: %w", err))
				if !sleep(ctx, bo.next()) {
					return nil
				}
				continue
			}
			f.reconcile(snap)
		}
		needRead = true
		err := f.follow(ctx, bo)
		switch {
		case ctx.Err() != nil:
			return nil
		case errors.Is(err, ErrClosed):
			return ErrClosed
		}
		f.lost(err)
		compacted := errors.Is(err, rpctypes.ErrCompacted)
		if compacted && !compactedLast {
			compactedLast = true
			continue // read again at once (twice in a row: back off)
		}
		compactedLast = compacted
		if !sleep(ctx, bo.next()) {
			return nil
		}
	}
}

// follow watches from f.rev+1 until the watch fails, is compacted, or
// stays silent for StaleAfter; it returns why.
func (f *follower) follow(ctx context.Context, bo *backoff) error {
	cli, err := f.s.client()
	if err != nil {
		return err
	}
	o := f.s.opts
	wctx, cancel := context.WithCancel(clientv3.WithRequireLeader(ctx))
	defer cancel()
	start := f.rev + 1
	wch := cli.Watch(wctx, f.s.prefix, clientv3.WithPrefix(), clientv3.WithRev(start), clientv3.WithProgressNotify())
	tick := time.NewTicker(o.ProgressInterval)
	defer tick.Stop()
	heard := o.Now()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case resp, ok := <-wch:
			if !ok {
				if f.s.closed.Load() {
					return ErrClosed
				}
				return fmt.Errorf("etcdstore: watch: %w: channel closed", store.ErrUnavailable)
			}
			if resp.CompactRevision != 0 {
				return fmt.Errorf("etcdstore: watch from revision %d: compacted up to %d: %w", start, resp.CompactRevision, rpctypes.ErrCompacted)
			}
			if err := resp.Err(); err != nil {
				return wrap("watch", err)
			}
			heard = o.Now()
			bo.reset()
			f.events(resp)
		case <-tick.C:
			if silent := o.Now().Sub(heard); silent > o.StaleAfter {
				return fmt.Errorf("etcdstore: watch: %w: no word from etcd for %v", store.ErrUnavailable, silent)
			}
			// The progress request must carry the watch's metadata to reach
			// its stream: derive it from wctx.
			pctx, pcancel := context.WithTimeout(wctx, o.ProgressInterval)
			_ = cli.RequestProgress(pctx)
			if o.Now().Sub(heard) >= o.ProgressInterval && f.idle(pctx, cli) {
				heard = o.Now()
			}
			pcancel()
		}
	}
}

// idle confirms the data when etcd as a whole has not moved past f.rev.
// etcd withholds progress notifications from a watch whose start revision
// is ahead of the store's (a watch opened at f.rev+1 on a store nobody
// has written to since), so on an idle cluster the progress requests go
// unanswered; a linearizable read whose header is still at f.rev proves
// that nothing, under the prefix or elsewhere, has changed. A newer
// header means the watch will be told (events or progress) and proves
// nothing here.
func (f *follower) idle(ctx context.Context, cli *clientv3.Client) bool {
	resp, err := cli.Get(ctx, f.s.prefix, clientv3.WithCountOnly())
	if err != nil || resp.Header == nil || resp.Header.Revision > f.rev {
		return false
	}
	f.confirmed()
	return true
}

// events applies one watch response.
func (f *follower) events(resp clientv3.WatchResponse) {
	switch {
	case len(resp.Events) > 0:
		next, rev := applyEvents(f.cur, f.rev, resp.Events, f.s.storeKey)
		f.rev = rev
		if next != nil {
			f.publish(next)
		}
		f.confirmed()
	case resp.IsProgressNotify():
		// Every event up to the header's revision has been sent.
		f.rev = max(f.rev, resp.Header.Revision)
		f.confirmed()
	}
}

// reconcile installs a snapshot read from etcd: published when it is newer
// and differs from what the node has; otherwise it only confirms the data.
func (f *follower) reconcile(snap *store.Snapshot) {
	switch {
	case f.cur == nil || (snap.Revision > f.cur.Revision && !sameContent(f.cur, snap)):
		f.publish(snap)
	case snap.Revision < f.rev:
		f.s.report(fmt.Errorf("etcdstore: etcd's revision went back from %d to %d (restored from a backup without "+
			"--bump-revision?); the node keeps its data until etcd passes revision %d", f.rev, snap.Revision, f.rev))
		return
	}
	f.rev = max(f.rev, snap.Revision)
	f.confirmed()
}

func (f *follower) publish(snap *store.Snapshot) {
	f.cur = snap
	f.apply(snap)
	f.keep()
}

// keep offers cur to the snapshot writer once Options.Accept accepts it
// (apply has run: the consumer has decided). A snapshot refused now is
// asked about again at each confirmation, so one accepted later (a master
// key the node re-read) is written then.
func (f *follower) keep() bool {
	if f.writer == nil || f.cur == nil {
		return false
	}
	if f.kept != f.cur {
		if f.s.accept(f.cur) != nil {
			return false
		}
		f.kept = f.cur
		f.writer.Offer(f.cur)
	}
	return true
}

// confirmed records that etcd confirmed the data current. The snapshot
// file's confirmation time moves only while it holds what etcd holds.
func (f *follower) confirmed() {
	f.s.health.contact()
	if f.keep() {
		f.writer.Confirmed()
	}
}

// lost records a failed cycle.
func (f *follower) lost(err error) {
	f.s.report(err)
	f.s.health.fail(err.Error())
}
