package e2e

import (
	"time"

	"github.com/attestd/attestd/daemon"
)

// proxyBounds sets a node's read timeout and the proxy's stream timeout.
func proxyBounds(cfg *daemon.Config, read, stream time.Duration) {
	cfg.ReadTimeout, cfg.ProxyStreamTimeout = read, stream
}
