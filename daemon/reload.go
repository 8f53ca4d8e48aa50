package daemon

import (
	"context"
	"fmt"
	"log/slog"
	"reflect"
	"slices"
	"strings"
	"time"
)

// reloadable names the Config fields a reload applies while serving; a
// change to any other is logged as needing a restart and not applied.
func reloadable() []string {
	return []string{"TLSCert", "TLSKey", "LogLevel", "VerdictLogEvery", "DrainDelay", "DrainTimeout"}
}

// Reload (SIGHUP) re-reads the configuration and the certificate. The new
// state is built fully first (configuration validated, certificate pair
// loaded and parsed) and then swapped in atomically: a handshake or a
// request sees the old state or the new, and none is dropped. On any
// error the old state keeps serving and the error is logged and returned.
// systemd is told RELOADING=1 (with MONOTONIC_USEC) and READY=1 after.
func (d *Daemon) Reload(ctx context.Context) error {
	d.reloadMu.Lock()
	defer d.reloadMu.Unlock()
	_ = d.notify(reloadingState())
	defer func() { _ = d.notify("READY=1") }()
	err := d.reload(ctx)
	if err != nil {
		d.own.reloads.WithLabelValues("error").Inc()
		d.log.Error("reload failed; the previous configuration keeps serving", "err", err)
		return err
	}
	d.own.reloads.WithLabelValues("ok").Inc()
	return nil
}

func (d *Daemon) reload(ctx context.Context) error {
	next := d.cfg
	if d.opts.Reload != nil {
		var err error
		if next, err = d.opts.Reload(); err != nil {
			return fmt.Errorf("configuration: %w", err)
		}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if next.TLS() != d.cfg.TLS() {
		return fmt.Errorf("turning TLS on or off needs a restart")
	}
	var level slog.LevelVar
	if err := level.UnmarshalText([]byte(next.LogLevel)); err != nil {
		return fmt.Errorf("log level: %w", err)
	}
	// Build: everything that can fail happens before anything changes.
	if d.tls != nil {
		cert, err := loadCertificate(next.TLSCert, next.TLSKey)
		if err != nil {
			return err
		}
		// Swap.
		d.tls.install(next.TLSCert, next.TLSKey, cert)
		d.own.certNotAfter.Set(float64(cert.Leaf.NotAfter.Unix()))
	}
	d.level.Set(level.Level())
	d.verdicts.every.Store(int64(next.VerdictLogEvery))
	d.live.drainDelay.Store(int64(next.DrainDelay))
	d.live.drainTimeout.Store(int64(next.DrainTimeout))
	if stale := restartNeeded(d.cfg, next); len(stale) > 0 {
		d.log.Warn("reload: these settings changed but need a restart; their running values stay", "settings", strings.Join(stale, ","))
	}
	for _, name := range reloadable() {
		reflect.ValueOf(&d.cfg).Elem().FieldByName(name).Set(reflect.ValueOf(next).FieldByName(name))
	}
	args := []any{"log_level", next.LogLevel, "drain_delay", time.Duration(d.live.drainDelay.Load())}
	if d.tls != nil {
		args = append(args, "certificate_not_after", d.tls.notAfter())
	}
	d.log.Info("reloaded", args...)
	return nil
}

// restartNeeded names the fields of Config, other than the reloadable
// ones, that differ between a and b.
func restartNeeded(a, b Config) []string {
	var out []string
	va, vb := reflect.ValueOf(a), reflect.ValueOf(b)
	for i := 0; i < va.NumField(); i++ {
		name := va.Type().Field(i).Name
		if slices.Contains(reloadable(), name) {
			continue
		}
		if !reflect.DeepEqual(va.Field(i).Interface(), vb.Field(i).Interface()) {
			out = append(out, name)
		}
	}
	return out
}
