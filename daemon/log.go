package daemon

import (
	"fmt"
	"io"
	"log/slog"

	"github.com/attestd/attestd/internal/accesslog"
	"github.com/attestd/attestd/internal/hint"
	"github.com/attestd/attestd/internal/state"
)

// newLogger returns the daemon's logger, JSON or text, at a level that a
// reload may change. Every record logged with a request's context carries
// its request_id. No secret reaches it: secret.Value logs as [redacted].
func newLogger(cfg Config, w io.Writer) (*slog.Logger, *slog.LevelVar) {
	lvl := new(slog.LevelVar)
	_ = lvl.UnmarshalText([]byte(cfg.LogLevel))
	o := &slog.HandlerOptions{Level: lvl}
	var h slog.Handler = slog.NewTextHandler(w, o)
	if cfg.LogFormat == "json" {
		h = slog.NewJSONHandler(w, o)
	}
	return slog.New(accesslog.LogHandler(h)), lvl
}

// banner tells a newcomer what is running and how to try it.
func (d *Daemon) banner() {
	args := []any{"admin", d.AdminAddr().String(), "store", redactURL(d.cfg.Store), "revision", d.reg.Revision(), "version", d.version}
	if d.ln != nil {
		args = append(args, "listen", d.ln.Addr().String())
	}
	if d.tlsLn != nil {
		args = append(args, "tls_listen", d.tlsLn.Addr().String())
	}
	if d.h3 != nil {
		args = append(args, "http3_listen", d.h3.Addr().String())
	}
	d.log.Info("attestd serving", args...)
	if !d.seeded || d.ln == nil {
		return
	}
	demo := state.Demo()
	base := "http://" + d.ln.Addr().String()
	fmt.Fprintf(d.opts.Stdout, `
attestd is serving on %s with a demo app seeded into %s
  account %q, app %q (android), version %q

Try a real attestation with the Go client:
  %s

Look at the registry, and change it while the node runs:
  %s
  %s

Or by hand:
  curl -s -X POST %s/v1/challenge
  curl -s http://%s/metrics | grep attestd_

`, base, d.cfg.Store, demo.AccountID, demo.AppID, demo.Version,
		hint.Command(ctlProgram(), "try", "--url", base),
		d.ctlHint("export"), d.ctlHint("help"),
		base, d.AdminAddr())
}
