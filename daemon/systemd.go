package daemon

import (
	"context"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/coreos/go-systemd/v22/activation"
	sddaemon "github.com/coreos/go-systemd/v22/daemon"

	"github.com/attestd/attestd/internal/api"
)

// Socket-activated listeners are matched by their FileDescriptorName= in
// attestd.socket; a single unnamed socket is the plaintext listener.
const (
	fdNameHTTP  = "http"
	fdNameHTTPS = "https"
	fdNameAdmin = "admin"
)

// sdNotify sends a state to systemd's notify socket; without one
// (NOTIFY_SOCKET unset) it does nothing.
func sdNotify(state string) error {
	_, err := sddaemon.SdNotify(false, state)
	return err
}

// sdWatchdog is the watchdog interval systemd asks for (0: none).
func sdWatchdog() time.Duration {
	d, err := sddaemon.SdWatchdogEnabled(false)
	if err != nil {
		return 0
	}
	return d
}

// reloadingState is the RELOADING=1 notification with the MONOTONIC_USEC
// that systemd 253+ (Type=notify-reload) wants.
func reloadingState() string {
	return "RELOADING=1\n" + strings.TrimSuffix(sddaemon.SdNotifyMonotonicUsec(), "\n")
}

// socketActivated returns the listeners systemd passed (LISTEN_FDS), by
// FileDescriptorName; nil when not socket-activated.
func socketActivated() (map[string]net.Listener, error) {
	named, err := activation.ListenersWithNames()
	if err != nil {
		return nil, fmt.Errorf("socket activation: %w", err)
	}
	if len(named) == 0 {
		return nil, nil
	}
	out := map[string]net.Listener{}
	for name, lns := range named {
		if len(lns) != 1 {
			return nil, fmt.Errorf("socket activation: %d sockets named %q, want one", len(lns), name)
		}
		switch name {
		case fdNameHTTP, fdNameHTTPS, fdNameAdmin:
			out[name] = lns[0]
		default:
			if len(named) != 1 {
				return nil, fmt.Errorf("socket activation: socket %q: name it http, https or admin (FileDescriptorName=)", name)
			}
			out[fdNameHTTP] = lns[0]
		}
	}
	return out, nil
}

// watchdog feeds systemd's watchdog from the serving path: every half
// interval it sends a request through a real api.Handler (the registry,
// the accounts cache, the router) and pets the watchdog only when the
// answer comes back in time. A wedged core stops the petting, and systemd
// restarts the node.
func (d *Daemon) watchdog(ctx context.Context, interval time.Duration, h *api.Handler) error {
	return every(ctx, interval/2, func() {
		if err := selfCheck(ctx, h, interval/2); err != nil {
			d.log.Warn("watchdog self-check failed; not petting the watchdog", "err", err)
			return
		}
		if err := d.notify("WATCHDOG=1"); err != nil {
			d.log.Warn("watchdog notify", "err", err)
		}
	})
}

// selfCheck asks h for the JWKS of an account that does not exist: a read
// through the registry that must answer 404 within timeout.
func selfCheck(ctx context.Context, h *api.Handler, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	done := make(chan int, 1)
	go func() {
		req := api.Request{Method: []byte("GET"), Path: []byte("/v1/accounts/-watchdog-/jwks.json")}
		var resp api.Response
		h.Serve(ctx, &req, &resp)
		done <- resp.Status
	}()
	select {
	case st := <-done:
		if st != 404 && st != 200 {
			return fmt.Errorf("self-request answered %d", st)
		}
		return nil
	case <-ctx.Done():
		return fmt.Errorf("self-request: no answer within %v", timeout)
	}
}
