// Package etcde2e holds the end-to-end tests of attestd on etcd: real
// attestd nodes (internal/testenv) on a real 3-member etcd cluster that the
// tests start themselves (internal/etcdtest), driven over HTTP by the Go
// client and written by attestctl. Nothing is mocked. When CI is set and
// etcd cannot be started, the tests fail instead of skipping.
//
// The package has tests only.
package etcde2e
