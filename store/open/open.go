// Package open opens a store by its URL (PROTOCOL.md §8) together with the
// keyring that seals and opens its secrets. The daemon and attestctl both
// open stores through it, so they agree on URLs, defaults and master keys.
//
//	file:///path/to/dir, file://./relative/dir   the embedded file store
//	etcd://host:port[,host:port…]/prefix          etcd (not built yet)
//
// Only the module's mains and their wiring packages import it.
package open

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"
	"time"

	"github.com/attestd/attestd/crypto/envelope"
	"github.com/attestd/attestd/store"
	"github.com/attestd/attestd/store/filestore"
)

// DefaultURL is the store of a daemon or attestctl run without --store: a
// data folder in the working directory.
const DefaultURL = "file://./attestd-data"

// MasterKeyID is the key id of a master key created on first use.
const MasterKeyID = "m1"

// Sentinel errors (besides store.ErrBadURL for a malformed URL).
var (
	// ErrNotBuilt: the URL's store kind is known but not built in yet.
	ErrNotBuilt = errors.New("store: etcd store not built yet")
	// ErrMasterKey: the master key file is unusable.
	ErrMasterKey = errors.New("store: master key")
)

// Options configure Open. The zero value is fine for a file store.
type Options struct {
	// MasterKeyFile is the master key file; empty means the store's own
	// (a file store's <dir>/master.key, created on first use).
	MasterKeyFile string
	// PollInterval is how often a file store's Watch looks for changes
	// (0: filestore.DefaultPollInterval).
	PollInterval time.Duration
	// OnError hears about transient Watch failures.
	OnError func(error)
	// Rand makes new master keys; nil means crypto/rand.
	Rand io.Reader
	// Etcd holds the etcd client settings (used once the etcd store exists).
	Etcd EtcdOptions
}

// EtcdOptions are the TLS and authentication settings of an etcd store.
type EtcdOptions struct {
	CAFile, CertFile, KeyFile string
	Username                  string
	// PasswordFile holds the password, so it never shows in ps.
	PasswordFile string
	DialTimeout  time.Duration
}

// Location is a parsed store URL.
type Location struct {
	Scheme string // "file" or "etcd"
	// Dir is a file store's directory (absolute or relative).
	Dir string
	// Endpoints and Prefix are an etcd store's.
	Endpoints []string
	Prefix    string
}

// ParseURL parses a store URL.
func ParseURL(raw string) (Location, error) {
	scheme, rest, ok := strings.Cut(raw, "://")
	if !ok {
		return Location{}, fmt.Errorf("%w: %q: want file:///path/to/dir or etcd://host:port/prefix", store.ErrBadURL, raw)
	}
	switch scheme {
	case "file":
		rest = strings.TrimPrefix(rest, "localhost/")
		if strings.HasPrefix(raw, "file://localhost/") {
			rest = "/" + rest
		}
		dir, err := url.PathUnescape(rest)
		if err != nil || dir == "" {
			return Location{}, fmt.Errorf("%w: %q: want file:///path/to/dir", store.ErrBadURL, raw)
		}
		return Location{Scheme: scheme, Dir: dir}, nil
	case "etcd":
		hosts, prefix, _ := strings.Cut(rest, "/")
		if hosts == "" || prefix == "" {
			return Location{}, fmt.Errorf("%w: %q: want etcd://host:port[,host:port…]/prefix", store.ErrBadURL, raw)
		}
		loc := Location{Scheme: scheme, Prefix: prefix}
		for _, h := range strings.Split(hosts, ",") {
			if h == "" || strings.ContainsAny(h, "@?#") {
				return Location{}, fmt.Errorf("%w: %q: bad etcd endpoint", store.ErrBadURL, raw)
			}
			loc.Endpoints = append(loc.Endpoints, h)
		}
		return loc, nil
	default:
		return Location{}, fmt.Errorf("%w: %q: unknown scheme %q (want file or etcd)", store.ErrBadURL, raw, scheme)
	}
}

// Open opens the store at rawURL and its keyring. Close the store when
// done. A file store creates its directory and master key on first use.
func Open(ctx context.Context, rawURL string, opts Options) (store.Store, *envelope.Keyring, error) {
	loc, err := ParseURL(rawURL)
	if err != nil {
		return nil, nil, err
	}
	switch loc.Scheme {
	case "file":
		return openFile(ctx, loc, opts)
	case "etcd":
		return nil, nil, fmt.Errorf("%w (use a file:// store)", ErrNotBuilt)
	}
	return nil, nil, fmt.Errorf("%w: %q", store.ErrBadURL, rawURL)
}

func openFile(ctx context.Context, loc Location, opts Options) (store.Store, *envelope.Keyring, error) {
	rnd := opts.Rand
	if rnd == nil {
		rnd = rand.Reader
	}
	fs, err := filestore.Open(ctx, loc.Dir, filestore.Options{
		MasterKeyFile: opts.MasterKeyFile,
		NewMasterKey:  func() ([]byte, error) { return envelope.NewKeyFile(MasterKeyID, rnd) },
		PollInterval:  opts.PollInterval,
		OnError:       opts.OnError,
	})
	if err != nil {
		return nil, nil, err
	}
	kr, err := envelope.ParseKeyFile(fs.MasterKey().Reveal())
	if err != nil {
		_ = fs.Close()
		return nil, nil, fmt.Errorf("%w: %w", ErrMasterKey, err)
	}
	return fs, kr, nil
}
