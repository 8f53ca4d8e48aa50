package open

import (
	"bytes"
	"flag"
	"fmt"
	"os"

	"github.com/attestd/attestd/crypto/envelope"
	"github.com/attestd/attestd/store"
	"github.com/attestd/attestd/store/etcdstore"
)

// MaxPasswordFileBytes bounds a password file read.
const MaxPasswordFileBytes = 4 << 10

// ErrPlaintextPassword: etcd password authentication is configured without
// TLS to etcd, so the password (and every record) would cross the network
// in the clear, readable and replayable by anyone on the path. TLS is on
// when --etcd-ca, --etcd-cert or --etcd-key is given (the endpoints of an
// etcd:// URL are host:port, never a scheme); an operator who means it
// (etcd on the same host, a private link) says so with
// --etcd-allow-plaintext-password. It wraps etcdstore.ErrBadOptions.
var ErrPlaintextPassword = fmt.Errorf("%w: an etcd password would be sent without TLS: give --etcd-ca (TLS to etcd), "+
	"or --etcd-allow-plaintext-password to send it in the clear anyway", etcdstore.ErrBadOptions)

// openEtcd opens an etcd store. It does not wait for etcd (a node may
// start from its snapshot while etcd is away): errors here are about the
// settings and files only.
func openEtcd(loc Location, opts Options) (store.Store, *envelope.Keyring, error) {
	if opts.MasterKeyFile == "" {
		return nil, nil, &KeyFileError{Scheme: loc.Scheme}
	}
	kr, err := readKeyring(loc.Scheme, opts.MasterKeyFile)
	if err != nil {
		return nil, nil, err
	}
	e := opts.Etcd
	tlsCfg, err := etcdstore.TLSFiles{CAFile: e.CAFile, CertFile: e.CertFile, KeyFile: e.KeyFile}.Config()
	if err != nil {
		return nil, nil, err
	}
	var password string
	if e.Username != "" || e.PasswordFile != "" {
		if e.Username == "" || e.PasswordFile == "" {
			return nil, nil, fmt.Errorf("%w: etcd username and password file go together", etcdstore.ErrBadOptions)
		}
		if tlsCfg == nil && !e.AllowPlaintextPassword {
			return nil, nil, ErrPlaintextPassword
		}
		if password, err = readPassword(e.PasswordFile); err != nil {
			return nil, nil, err
		}
	}
	st, err := etcdstore.Open(etcdstore.Options{
		Endpoints: loc.Endpoints, Prefix: loc.Prefix, TLS: tlsCfg,
		Username: e.Username, Password: password,
		DialTimeout: e.DialTimeout, RequestTimeout: e.RequestTimeout,
		SnapshotFile: e.SnapshotFile, Now: e.Now, OnError: opts.OnError, Accept: opts.Accept,
	})
	if err != nil {
		return nil, nil, err
	}
	return st, kr, nil
}

// readPassword reads the first line of a password file.
func readPassword(path string) (string, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return "", fmt.Errorf("%w: etcd password file: %w", etcdstore.ErrBadOptions, err)
	}
	if !fi.Mode().IsRegular() || fi.Size() > MaxPasswordFileBytes {
		return "", fmt.Errorf("%w: etcd password file %s is not a small regular file", etcdstore.ErrBadOptions, path)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("%w: etcd password file: %w", etcdstore.ErrBadOptions, err)
	}
	line, _, _ := bytes.Cut(b, []byte("\n"))
	line = bytes.TrimSuffix(line, []byte("\r"))
	if len(line) == 0 {
		return "", fmt.Errorf("%w: etcd password file %s is empty", etcdstore.ErrBadOptions, path)
	}
	return string(line), nil
}

// RegisterFlags adds the etcd settings to fs as --etcd-ca, --etcd-cert,
// --etcd-key, --etcd-user, --etcd-password-file,
// --etcd-allow-plaintext-password, --etcd-dial-timeout and
// --etcd-request-timeout, so attestd and attestctl spell them alike.
// (The snapshot file is the daemon's own --snapshot.)
func (e *EtcdOptions) RegisterFlags(fs *flag.FlagSet) {
	fs.StringVar(&e.CAFile, "etcd-ca", e.CAFile, "etcd: CA `FILE` (PEM) that signed the members' certificates; turns TLS on")
	fs.StringVar(&e.CertFile, "etcd-cert", e.CertFile, "etcd: client certificate `FILE` (PEM); turns TLS on")
	fs.StringVar(&e.KeyFile, "etcd-key", e.KeyFile, "etcd: client key `FILE` (PEM)")
	fs.StringVar(&e.Username, "etcd-user", e.Username, "etcd: user `NAME` for password auth")
	fs.StringVar(&e.PasswordFile, "etcd-password-file", e.PasswordFile, "etcd: `FILE` holding the password (first line); refused without TLS (--etcd-ca) unless --etcd-allow-plaintext-password")
	fs.BoolVar(&e.AllowPlaintextPassword, "etcd-allow-plaintext-password", e.AllowPlaintextPassword,
		"etcd: send the password without TLS, in the clear (only for etcd on this host or a private link)")
	fs.DurationVar(&e.DialTimeout, "etcd-dial-timeout", e.DialTimeout, "etcd: connect timeout (0: 3s)")
	fs.DurationVar(&e.RequestTimeout, "etcd-request-timeout", e.RequestTimeout, "etcd: timeout of each request (0: 3s)")
}
