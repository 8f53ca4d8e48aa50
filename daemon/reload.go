package daemon

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"reflect"
	"strings"
	"time"

	"github.com/attestd/attestd/internal/masterkeys"
)

// reloadable names the Config fields a reload applies while serving; a
// change to any other is logged as needing a restart and not applied.
func reloadable() []string {
	return []string{"TLSCert", "TLSKey", "LogLevel", "VerdictLogEvery", "DrainDelay", "DrainTimeout"}
}

// Reload (SIGHUP) re-reads the configuration, the certificate and the
// master key file. The new state is built fully first (configuration
// validated, certificate pair loaded and parsed, master key file read,
// every key self-tested, and checked to open every sealed value the held
// keys open in the state being served) and then swapped in atomically: a
// handshake, a request or an Open sees the old state or the new, and none
// is dropped. A store change that was waiting for a master key (see
// masterkeys.Follower) is applied with the new keys. On any error (a master key
// file that is missing, unreadable, not mode 0600, malformed, or that lacks
// a key the served state needs included) the old state and keys keep
// serving and the error is logged and returned; it never holds a key.
// The master key file is re-read from the path the node started with
// (--master-key, or a file store's master.key); under systemd's
// LoadCredential= that is the credential copy made when the service
// started. systemd is told RELOADING=1 (with MONOTONIC_USEC) and READY=1
// after.
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
	kf, err := masterkeys.ReadFile(d.keys.Path())
	if err != nil {
		return err
	}
	var cert *tls.Certificate
	if d.tls != nil {
		if cert, err = loadCertificate(next.TLSCert, next.TLSKey); err != nil {
			return err
		}
	}
	// Swap. The master keys go first: adopting them either changes
	// nothing and fails, or succeeds.
	if err := d.follower.Reload(kf); err != nil {
		return err
	}
	if d.tls != nil {
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
	args := []any{"log_level", next.LogLevel, "drain_delay", time.Duration(d.live.drainDelay.Load()), "master_keys", d.follower.IDs()}
	if d.tls != nil {
		args = append(args, "certificate_not_after", d.tls.notAfter())
	}
	d.log.Info("reloaded", args...)
	return nil
}

// restartNeeded names, by their flags (settingnames.go), the settings
// other than the reloadable ones that differ between a and b.
func restartNeeded(a, b Config) []string {
	return changedSettings(a, b, reloadable())
}
