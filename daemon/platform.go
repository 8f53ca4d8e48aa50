package daemon

import (
	"bytes"
	"context"
	"crypto/x509"
	"fmt"
	"os"
	"time"

	"github.com/attestd/attestd/internal/platform"
	"github.com/attestd/attestd/internal/registry"
	"github.com/attestd/attestd/verify/androidkey"
	"github.com/attestd/attestd/verify/appleattest"
)

// newPlatform builds the platform attestation checker (PROTOCOL.md §7):
// the built-in roots unless --android-roots / --apple-roots replace them,
// and the Android status list when --android-status names one.
func newPlatform(cfg Config, reg *registry.Registry) (*platform.Checker, error) {
	android, err := roots(cfg.AndroidRoots, androidkey.DefaultRoots, androidkey.ParseRootsPEM)
	if err != nil {
		return nil, fmt.Errorf("--android-roots: %w", err)
	}
	apple, err := roots(cfg.AppleRoots, appleattest.DefaultRoots, appleattest.ParseRootsPEM)
	if err != nil {
		return nil, fmt.Errorf("--apple-roots: %w", err)
	}
	c, err := platform.New(platform.Config{AndroidRoots: android, AppleRoots: apple, ReceiptTTL: cfg.ReceiptTTL, Keys: reg,
		NonceTTL: cfg.NonceTTL})
	if err != nil {
		return nil, err
	}
	if cfg.AndroidStatus != "" {
		data, err := os.ReadFile(cfg.AndroidStatus)
		if err != nil {
			return nil, fmt.Errorf("--android-status: %w", err)
		}
		l, err := androidkey.ParseStatusList(data)
		if err != nil {
			return nil, fmt.Errorf("--android-status: %w", err)
		}
		c.SetStatusList(l)
	}
	return c, nil
}

func roots(file string, builtin func() ([]*x509.Certificate, error), parse func([]byte) ([]*x509.Certificate, error)) ([]*x509.Certificate, error) {
	if file == "" {
		return builtin()
	}
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	return parse(data)
}

// watchStatusList re-reads --android-status when it changes; a list that
// does not parse leaves the previous one in force (and is logged).
func (d *Daemon) watchStatusList(ctx context.Context) error {
	if d.cfg.AndroidStatus == "" {
		<-ctx.Done()
		return nil
	}
	last, _ := os.ReadFile(d.cfg.AndroidStatus)
	return every(ctx, 2*time.Second, func() {
		data, err := os.ReadFile(d.cfg.AndroidStatus)
		if err != nil || bytes.Equal(data, last) {
			if err != nil {
				d.log.Warn("android status list unreadable; keeping the previous one", "err", err)
			}
			return
		}
		l, err := androidkey.ParseStatusList(data)
		if err != nil {
			d.log.Warn("android status list does not parse; keeping the previous one", "err", err)
			return
		}
		last = data
		d.platform.SetStatusList(l)
		d.log.Info("android status list reloaded", "entries", l.Len())
	})
}
