package etcdstore

import (
	"context"
	"errors"
	"fmt"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"

	"github.com/attestd/attestd/store"
)

// refusal reports whether err is etcd refusing the request for good (bad
// credentials, no permission, a request over its limits), as opposed to
// etcd being unreachable or unable to answer now. A refusal is not retried
// and never makes a node fall back to its snapshot silently.
func refusal(err error) bool {
	for _, r := range []error{
		rpctypes.ErrAuthFailed, rpctypes.ErrPermissionDenied, rpctypes.ErrUserEmpty,
		rpctypes.ErrUserNotFound, rpctypes.ErrAuthOldRevision, rpctypes.ErrRequestTooLarge,
		rpctypes.ErrTooManyOps, rpctypes.ErrDuplicateKey, rpctypes.ErrKeyNotFound,
	} {
		if errors.Is(err, r) {
			return true
		}
	}
	return errors.Is(err, ErrBadOptions)
}

// wrap names the operation and classifies err: store.ErrUnavailable for
// anything that is not a refusal (timeouts, no leader, no connection), so
// callers can tell "etcd is away" from "etcd said no"; ErrTooLarge for
// etcd's own size limits.
func wrap(op string, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, ErrClosed):
		return err
	case errors.Is(err, rpctypes.ErrRequestTooLarge), errors.Is(err, rpctypes.ErrTooManyOps):
		return fmt.Errorf("etcdstore: %s: %w: %w", op, ErrTooLarge, err)
	case refusal(err):
		return fmt.Errorf("etcdstore: %s: %w", op, err)
	case errors.Is(err, context.Canceled):
		return fmt.Errorf("etcdstore: %s: %w", op, err)
	default:
		return fmt.Errorf("etcdstore: %s: %w: %w", op, store.ErrUnavailable, err)
	}
}
