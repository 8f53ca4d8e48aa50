package ctl

import (
	"context"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/attestd/attestd/internal/model"
)

// ErrNoStore is wrapped by TryEnv.AccountKeys when the store named by the
// global flags does not exist.
var ErrNoStore = errNoStore

// TryEnv is what `attestctl try` gets from attestctl besides its
// arguments. Its functions are safe to call from the try goroutine only.
type TryEnv struct {
	Stdout, Stderr io.Writer
	// Program is how the user runs attestctl, for hints.
	Program string
	// Parse parses try's own flags (registered on fs) and attestctl's
	// global flags, wherever they appear in args, and returns the
	// positional arguments.
	Parse func(fs *flag.FlagSet, args []string) ([]string, error)
	// StoreGiven reports whether --store was given.
	StoreGiven func() bool
	// Timeout is --timeout, as parsed (by Parse too).
	Timeout func() time.Duration
	// AccountKeys returns the token keys of an account, secrets opened,
	// from the store the global flags name (ErrNoStore when it does not
	// exist; state.ErrNotFound for an unknown account).
	AccountKeys func(ctx context.Context, account string) ([]model.Key, error)
	// Hint is the attestctl command line running args on the same store.
	Hint func(args ...string) string
}

func (r *runner) tryEnv() TryEnv {
	return TryEnv{
		Stdout: r.stdout, Stderr: r.stderr, Program: r.program(),
		Parse: func(fs *flag.FlagSet, args []string) ([]string, error) {
			r.g.register(fs)
			pos, err := parseArgs(fs, args, 0)
			if err == nil {
				r.g.noteGiven(fs)
			}
			return pos, err
		},
		StoreGiven: func() bool { _, ok := r.g.given["store"]; return ok },
		Timeout:    func() time.Duration { return r.g.timeout },
		AccountKeys: func(ctx context.Context, account string) ([]model.Key, error) {
			a, err := r.account(ctx, account)
			if err != nil {
				return nil, err
			}
			return a.Keys, nil
		},
		Hint: r.ctlHint,
	}
}

// tryHelp asks try for its help.
func (r *runner) tryHelp() int {
	if r.cfg.Try == nil {
		fmt.Fprintln(r.stderr, "attestctl try: not built into this attestctl")
		return ExitFailure
	}
	return r.cfg.Try(context.Background(), []string{"-h"}, r.tryEnv())
}
