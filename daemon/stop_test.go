package daemon

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/attestd/attestd/internal/limit"
)

// TestStopRightAtStartReturns: a node whose context is already done when
// Run starts (SIGTERM during start) drains and returns, even though its
// listeners' Serve may start after the drain's Shutdown.
func TestStopRightAtStartReturns(t *testing.T) {
	f := DefaultFlags()
	f.Store = "file://" + filepath.Join(t.TempDir(), "store")
	f.Listen, f.AdminListen, f.LogLevel = "127.0.0.1:0", "127.0.0.1:0", "error"
	cfg, err := f.Validate()
	if err != nil {
		t.Fatal(err)
	}
	cfg.Limits = limit.Config{}
	for range 5 {
		d, err := New(context.Background(), cfg, Options{})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		done := make(chan error, 1)
		go func() { done <- d.Run(ctx) }()
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("Run: %v", err)
			}
		case <-time.After(20 * time.Second):
			t.Fatal("Run did not return after a stop at start")
		}
	}
}
