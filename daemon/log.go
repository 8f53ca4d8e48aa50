package daemon

import (
	"fmt"
	"io"
	"log/slog"

	"github.com/attestd/attestd/internal/state"
)

func newLogger(cfg Config, w io.Writer) *slog.Logger {
	var lvl slog.Level
	_ = lvl.UnmarshalText([]byte(cfg.LogLevel))
	o := &slog.HandlerOptions{Level: lvl}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, o))
	}
	return slog.New(slog.NewTextHandler(w, o))
}

// banner tells a newcomer what is running and how to try it.
func (d *Daemon) banner() {
	d.log.Info("attestd serving", "listen", d.Addr().String(), "admin", d.AdminAddr().String(),
		"store", d.cfg.Store, "revision", d.reg.Revision())
	if !d.seeded {
		return
	}
	demo := state.Demo()
	fmt.Fprintf(d.opts.Stdout, `
attestd is serving on http://%s with a demo app seeded into %s
  account %q, app %q (android), version %q

Try a real attestation with the Go client:
  go run ./cmd/attestctl try --url http://%s

Or by hand:
  curl -s -X POST http://%s/v1/challenge
  curl -s http://%s/metrics | grep attestd_

`, d.Addr(), d.cfg.Store, demo.AccountID, demo.AppID, demo.Version, d.Addr(), d.Addr(), d.AdminAddr())
}
