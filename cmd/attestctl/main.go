// Command attestctl is the operator CLI of attestd: see internal/ctl, or
// run `attestctl help`.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/attestd/attestd/internal/ctl"
	"github.com/attestd/attestd/internal/try"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	cfg := ctl.Config{Try: try.Main}
	code := cfg.Main(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
