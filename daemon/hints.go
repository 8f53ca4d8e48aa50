package daemon

import (
	"errors"
	"fmt"
	"strings"

	"github.com/attestd/attestd/internal/hint"
	"github.com/attestd/attestd/store/open"
)

// ctlProgram is how the user runs attestctl beside this attestd: "go run
// ./cmd/attestctl" when attestd runs from `go run`, attestctl otherwise.
func ctlProgram() string {
	p := hint.Program("attestd")
	if base, ok := strings.CutSuffix(p, "attestd"); ok {
		return base + "attestctl"
	}
	return "attestctl"
}

// storeArgs are the attestctl flags that name this node's store: --store
// (unless the default), --master-key (unless withoutKey), and the etcd
// settings, as attestctl spells them (open.EtcdOptions.RegisterFlags
// serves both).
func (d *Daemon) storeArgs(withoutKey bool) []string {
	var w []string
	if d.cfg.Store != DefaultStoreURL {
		w = append(w, "--store", redactURL(d.cfg.Store))
	}
	if d.cfg.MasterKey != "" && !withoutKey {
		w = append(w, "--master-key", d.cfg.MasterKey)
	}
	e := d.cfg.Etcd
	for _, f := range []struct{ name, v string }{
		{"--etcd-ca", e.CAFile}, {"--etcd-cert", e.CertFile}, {"--etcd-key", e.KeyFile},
		{"--etcd-user", e.Username}, {"--etcd-password-file", e.PasswordFile},
	} {
		if f.v != "" {
			w = append(w, f.name, f.v)
		}
	}
	if e.AllowPlaintextPassword {
		w = append(w, "--etcd-allow-plaintext-password")
	}
	if e.DialTimeout != 0 {
		w = append(w, "--etcd-dial-timeout", e.DialTimeout.String())
	}
	if e.RequestTimeout != 0 {
		w = append(w, "--etcd-request-timeout", e.RequestTimeout.String())
	}
	return w
}

// ctlHint is the attestctl command line that runs args on this node's
// store, quoted for a shell.
func (d *Daemon) ctlHint(args ...string) string {
	return hint.Command(ctlProgram(), append(d.storeArgs(false), args...)...)
}

// withHints ends a start error with the command that mends it, when
// there is one: for an etcd store without its master key file, the
// attestctl init that writes one (open.KeyFileError.Hint), on this
// node's store.
func (d *Daemon) withHints(err error) error {
	var kf *open.KeyFileError
	if !errors.As(err, &kf) {
		return err
	}
	return fmt.Errorf("%w; %s", err, kf.Hint(func(args ...string) string {
		return hint.Command(ctlProgram(), append(d.storeArgs(true), args...)...)
	}))
}
