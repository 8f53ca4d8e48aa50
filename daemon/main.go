package daemon

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/attestd/attestd/internal/androidstatus"
)

// Main runs attestd with args until SIGINT or SIGTERM (then drains and
// returns 0); SIGHUP reloads. `attestd check-config [flags]` validates the
// configuration without serving; `--print-config` prints it. It returns
// the exit code: 2 for a configuration error, 1 for a failure to serve.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == "check-config" {
		return checkConfig(args[1:], stdout, stderr)
	}
	l, err := LoadFlags(Sources{Args: args, Stderr: stderr})
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		fmt.Fprintln(stderr, "attestd:", err)
		return 2
	}
	if l.PrintConfig {
		if err := l.WriteConfig(stdout); err != nil {
			fmt.Fprintln(stderr, "attestd:", err)
			return 1
		}
		return 0
	}
	cfg, err := l.Flags.Validate()
	if err != nil {
		fmt.Fprintln(stderr, "attestd:", err)
		return 2
	}
	lns, err := socketActivated()
	if err != nil {
		fmt.Fprintln(stderr, "attestd:", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	d, err := New(ctx, cfg, Options{
		Stdout: stdout, Stderr: stderr, Listeners: lns, Notify: sdNotify, Watchdog: sdWatchdog(),
		Reload: func() (Config, error) {
			l, err := LoadFlags(Sources{Args: args})
			if err != nil {
				return Config{}, err
			}
			return l.Flags.Validate()
		},
	})
	if err != nil {
		fmt.Fprintln(stderr, "attestd:", err)
		return 1
	}
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case <-hup:
				_ = d.Reload(ctx)
			}
		}
	}()
	if err := d.Run(ctx); err != nil {
		fmt.Fprintln(stderr, "attestd:", err)
		return 1
	}
	return 0
}

// checkConfig validates a configuration as the daemon would at start,
// loading the files it names, without opening the store or binding.
func checkConfig(args []string, stdout, stderr io.Writer) int {
	l, err := LoadFlags(Sources{Args: args, Stderr: stderr})
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		fmt.Fprintln(stderr, "attestd: check-config:", err)
		return 2
	}
	cfg, err := l.Flags.Validate()
	if err == nil {
		err = checkFiles(cfg)
	}
	if err != nil {
		fmt.Fprintln(stderr, "attestd: check-config:", err)
		return 2
	}
	fmt.Fprintln(stdout, "attestd: configuration OK")
	return 0
}

// checkFiles loads what the configuration names: the TLS pair and the
// files that must be readable.
func checkFiles(cfg Config) error {
	if cfg.TLS() {
		if _, err := loadCertificate(cfg.TLSCert, cfg.TLSKey); err != nil {
			return err
		}
	}
	files := map[string]string{"master-key": cfg.MasterKey, "android-roots": cfg.AndroidRoots, "apple-roots": cfg.AppleRoots}
	if src, err := androidstatus.ParseSource(cfg.AndroidStatus); err == nil && !src.IsURL() {
		files["android-status"] = cfg.AndroidStatus
	}
	for name, p := range files {
		if p == "" {
			continue
		}
		f, err := os.Open(p)
		if err != nil {
			return fmt.Errorf("--%s: %w", name, err)
		}
		f.Close()
	}
	return nil
}
