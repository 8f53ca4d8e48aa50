// Package open opens a store by its URL (PROTOCOL.md §8) together with the
// keyring that seals and opens its secrets. The daemon and attestctl both
// open stores through it, so they agree on URLs, defaults and master keys.
//
//	file:///path/to/dir, file://./relative/dir   the embedded file store
//	etcd://host:port[,host:port…]/prefix          etcd (store/etcdstore)
//
// An etcd store needs a master key file (Options.MasterKeyFile, the same
// file on every node and for attestctl): the key that seals the secrets
// must never be stored beside them.
//
// The store Open returns authenticates every record it writes under a key
// derived from that master key (internal/recordauth: tags and the
// manifest, PROTOCOL §8 1.1); its Load and Watch return the records as
// stored, for the reader to verify. Its Unwrap is the store underneath.
//
// Only the module's mains and their wiring packages import it.
package open

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/attestd/attestd/crypto/envelope"
	"github.com/attestd/attestd/crypto/secret"
	"github.com/attestd/attestd/internal/recordauth"
	"github.com/attestd/attestd/internal/state"
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
	// ErrMasterKey: the master key file is missing, unusable, or not
	// given. Errors that wrap it begin with the kind of store they are for.
	ErrMasterKey = errors.New("master key")
)

// Options configure Open. The zero value is fine for a file store.
type Options struct {
	// MasterKeyFile is the master key file; empty means the store's own
	// (a file store's <dir>/master.key, created on the first use of a
	// store without records; missing for a store with records, it is an
	// error naming the key IDs they need).
	MasterKeyFile string
	// PollInterval is how often a file store's Watch looks for changes
	// (0: filestore.DefaultPollInterval).
	PollInterval time.Duration
	// OnError hears about transient Watch failures.
	OnError func(error)
	// Rand makes new master keys; nil means crypto/rand.
	Rand io.Reader
	// Etcd holds the settings of an etcd store (ignored by a file store).
	Etcd EtcdOptions
	// Accept decides which snapshots an etcd store keeps in its snapshot
	// file (see etcdstore.Options.Accept); nil: all.
	Accept store.Accept
	// Now is the clock of a file store's health (nil: time.Now; an etcd
	// store's is Etcd.Now).
	Now func() time.Time
}

// EtcdOptions are the settings of an etcd store. The zero value connects
// without TLS or authentication, with etcdstore's default timeouts, and
// keeps no snapshot file.
type EtcdOptions struct {
	// CAFile verifies the members' certificates (empty: the system roots,
	// when TLS is used). CertFile and KeyFile are a client certificate
	// (etcd --client-cert-auth). Any of the three turns TLS on.
	CAFile, CertFile, KeyFile string
	// Username and PasswordFile: etcd password auth. The password is read
	// from the file (first line), so it never shows in ps.
	Username     string
	PasswordFile string
	// AllowPlaintextPassword lets a password go to etcd without TLS
	// (see openEtcd); off, such settings are refused.
	AllowPlaintextPassword bool
	// DialTimeout bounds connecting (0: etcdstore.DefaultDialTimeout).
	DialTimeout time.Duration
	// RequestTimeout bounds each etcd call (0: etcdstore.DefaultRequestTimeout).
	RequestTimeout time.Duration
	// SnapshotFile is a node's last-known-good snapshot (daemon
	// --snapshot); empty: none.
	SnapshotFile string
	// Now is the clock of the store's health (nil: time.Now).
	Now func() time.Time
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

// MasterKeyPath is the master key file the store at rawURL is opened with:
// explicit (--master-key) when given, else a file store's own
// <dir>/master.key. Any other store keeps no master key: without explicit,
// the error wraps ErrMasterKey.
func MasterKeyPath(rawURL, explicit string) (string, error) {
	if explicit != "" {
		return explicit, nil
	}
	loc, err := ParseURL(rawURL)
	if err != nil {
		return "", err
	}
	if loc.Scheme != "file" {
		return "", &KeyFileError{Scheme: loc.Scheme}
	}
	return filepath.Join(loc.Dir, filestore.MasterKeyFileName), nil
}

// ReadKeySet reads and parses the master key file at path (mode 0600 or
// stricter, see filestore.ReadMasterKeyFile), returning its content too.
// Its errors wrap ErrMasterKey ("master key file: …") and never hold key
// material; a missing file's wraps fs.ErrNotExist too.
func ReadKeySet(path string) (secret.Value, *envelope.KeySet, error) {
	v, err := filestore.ReadMasterKeyFile(path)
	if err != nil {
		return secret.Value{}, nil, fmt.Errorf("%w file: %w", ErrMasterKey, err)
	}
	ks, err := envelope.ParseKeySet(v.Reveal())
	if err != nil {
		return secret.Value{}, nil, fmt.Errorf("%w file %s: %w", ErrMasterKey, path, err)
	}
	return v, ks, nil
}

// Open opens the store at rawURL and its keyring. Close the store when
// done. A file store creates its directory on first use, and its master
// key when it holds no record yet; a file store with records and no master
// key file is refused (ErrMasterKey and filestore.ErrNoMasterKey), and
// nothing is created.
// The store is a *recordauth.Store tagging under the keyring.
func Open(ctx context.Context, rawURL string, opts Options) (store.Store, *envelope.Keyring, error) {
	loc, err := ParseURL(rawURL)
	if err != nil {
		return nil, nil, err
	}
	var st store.Store
	var kr *envelope.Keyring
	switch loc.Scheme {
	case "file":
		st, kr, err = openFile(ctx, loc, opts)
	case "etcd":
		st, kr, err = openEtcd(loc, opts)
	default:
		return nil, nil, fmt.Errorf("%w: %q", store.ErrBadURL, rawURL)
	}
	if err != nil {
		return nil, nil, err
	}
	return recordauth.Wrap(st, kr), kr, nil
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
		Now:           opts.Now,
	})
	if mk := (*filestore.MissingKeyError)(nil); errors.As(err, &mk) {
		return nil, nil, missingKey(mk)
	}
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

// missingKey is the refusal of a file store whose records need the master
// key file that is missing: it names the keys they are sealed and tagged
// under, so that the operator restores the right file. It wraps
// ErrMasterKey and filestore.ErrNoMasterKey.
func missingKey(mk *filestore.MissingKeyError) error {
	ids := state.SealedKeyIDs(mk.State)
	for kid, n := range recordauth.KeyIDs(mk.State) {
		ids[kid] += n
	}
	var which string
	switch kids := slices.Sorted(maps.Keys(ids)); len(kids) {
	case 0:
		which = "name no key ID: restore the file they were sealed under"
	case 1:
		which = "are sealed under key ID " + kids[0] + ": restore that file"
	default:
		which = "are sealed under key IDs " + strings.Join(kids, ", ") + ": restore that file"
	}
	return &keyMissingError{cause: mk, msg: fmt.Sprintf("%v file missing: %s; the store's %d records %s "+
		"(or give it with --master-key FILE); no new key was created: it would open none of them",
		ErrMasterKey, mk.Path, len(mk.State.Entries), which)}
}

// keyMissingError is missingKey's error.
type keyMissingError struct {
	msg   string
	cause *filestore.MissingKeyError
}

func (e *keyMissingError) Error() string   { return e.msg }
func (e *keyMissingError) Unwrap() []error { return []error{ErrMasterKey, e.cause} }
