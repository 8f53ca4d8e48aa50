package etcdstore

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/attestd/attestd/store"
)

// requestSlack is what an etcd transaction costs beyond its keys and
// values (headers, compares, per-operation framing), kept free below
// --max-request-bytes.
const (
	requestSlack = 4 << 10
	opOverhead   = 16
)

// Update reads the store at revision R, asks fn for the changes and
// commits them in one etcd transaction that succeeds only if no key under
// the prefix was modified after R (the meta key rewritten by every Update
// makes deletes show too). On a conflict it reads again and calls fn again,
// up to Options.MaxUpdateTries times, then fails with store.ErrConflict.
// Changes that change nothing write nothing; the revision returned is then
// R. An error from fn is returned as it is.
//
// The values are stored as the file store stores them: compact JSON.
// A change that does not fit in one transaction fails with ErrTooLarge
// before anything is sent. When the transaction's outcome is unknown (a
// timeout after sending), the error wraps store.ErrUnavailable and the
// change may or may not be applied; running the same import again is
// harmless.
func (s *Store) Update(ctx context.Context, fn func(*store.Snapshot) (store.Changes, error)) (int64, error) {
	if s.closed.Load() {
		return 0, ErrClosed
	}
	bo := newBackoff(10*time.Millisecond, 250*time.Millisecond)
	for try := 1; ; try++ {
		cur, err := s.read(ctx)
		if err != nil {
			return 0, err
		}
		ch, err := fn(cur)
		if err != nil {
			return 0, err
		}
		if ch.Empty() {
			return cur.Revision, nil
		}
		ops, err := s.ops(ch, cur.Revision)
		if err != nil {
			return 0, err
		}
		ok, rev, err := s.commit(ctx, cur.Revision, ops)
		if err != nil {
			return 0, err
		}
		if ok {
			return rev, nil
		}
		if try >= s.opts.MaxUpdateTries {
			return 0, fmt.Errorf("%w: etcd prefix %s kept changing; gave up after %d tries", store.ErrConflict, s.prefix, try)
		}
		if !sleep(ctx, bo.next()) {
			return 0, fmt.Errorf("etcdstore: update: %w", ctx.Err())
		}
	}
}

// commit runs the transaction guarded by "nothing under the prefix was
// modified after base".
func (s *Store) commit(ctx context.Context, base int64, ops []clientv3.Op) (ok bool, rev int64, err error) {
	cli, err := s.client()
	if err != nil {
		return false, 0, err
	}
	unchanged := clientv3.Compare(clientv3.ModRevision(s.prefix), "<", base+1).WithPrefix()
	tctx, cancel := context.WithTimeout(ctx, s.opts.RequestTimeout)
	defer cancel()
	resp, err := cli.Txn(tctx).If(unchanged).Then(ops...).Commit()
	if err != nil {
		return false, 0, wrap("update", err)
	}
	return resp.Succeeded, resp.Header.Revision, nil
}

// ops turns changes into transaction operations, the meta key last,
// checking them against etcd's limits first.
func (s *Store) ops(ch store.Changes, base int64) ([]clientv3.Op, error) {
	n := len(ch.Put) + len(ch.Delete) + 1
	if n > s.opts.MaxTxnOps {
		return nil, fmt.Errorf("%w: %d records in one change; etcd takes at most %d operations per transaction "+
			"(--max-txn-ops %d, one is the store's own): split the bundle, or raise --max-txn-ops on every member",
			ErrTooLarge, n-1, s.opts.MaxTxnOps-1, s.opts.MaxTxnOps)
	}
	limit := s.opts.MaxRequestBytes - requestSlack
	ops := make([]clientv3.Op, 0, n)
	size := 0
	for _, k := range slices.Sorted(maps.Keys(ch.Put)) {
		if err := checkKey(k); err != nil {
			return nil, err
		}
		var c bytes.Buffer
		if err := json.Compact(&c, ch.Put[k]); err != nil {
			return nil, fmt.Errorf("%w: value of %q is not JSON", ErrBadChanges, k)
		}
		if c.Len() > limit {
			return nil, fmt.Errorf("%w: the value of %q is %d bytes; etcd takes at most about %d per transaction "+
				"(--max-request-bytes %d, 1.5 MiB by default)", ErrTooLarge, k, c.Len(), limit, s.opts.MaxRequestBytes)
		}
		size += len(s.key(k)) + c.Len() + opOverhead
		ops = append(ops, clientv3.OpPut(s.key(k), c.String()))
	}
	for _, k := range ch.Delete {
		if err := checkKey(k); err != nil {
			return nil, err
		}
		if _, both := ch.Put[k]; both {
			return nil, fmt.Errorf("%w: %q both put and deleted", ErrBadChanges, k)
		}
		size += len(s.key(k)) + opOverhead
		ops = append(ops, clientv3.OpDelete(s.key(k)))
	}
	if size > limit {
		return nil, fmt.Errorf("%w: the change is %d bytes; etcd takes at most about %d per transaction "+
			"(--max-request-bytes %d, 1.5 MiB by default): split the bundle", ErrTooLarge, size, limit, s.opts.MaxRequestBytes)
	}
	return append(ops, clientv3.OpPut(s.key(MetaKey), strconv.FormatInt(base, 10))), nil
}

func checkKey(k string) error {
	switch {
	case k == "":
		return fmt.Errorf("%w: empty key", ErrBadChanges)
	case strings.HasPrefix(k, "_"):
		return fmt.Errorf("%w: key %q is reserved (keys starting with \"_\" belong to the store)", ErrBadChanges, k)
	}
	return nil
}
