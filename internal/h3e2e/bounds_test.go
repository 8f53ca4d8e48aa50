package h3e2e

import (
	"github.com/attestd/attestd/daemon"
	"github.com/attestd/attestd/internal/h3api"
)

// stallBounds gives a stall test's node its read timeout.
func stallBounds(cfg *daemon.Config) { cfg.ReadTimeout = stallRead }

// stallStreams is the streams a connection may have open at once.
func stallStreams() int { return h3api.DefaultMaxStreams }

// connsPerIP sets a node's bound on the HTTP/3 connections of one client.
func connsPerIP(cfg *daemon.Config, n int) { cfg.HTTP3MaxConnsPerIP = n }
