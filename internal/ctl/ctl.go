// Package ctl is attestctl, the operator CLI: it writes the registry
// (accounts, apps, bans, deployment keys) into a store and reads it back.
// cmd/attestctl is a thin main around Config.Main.
//
// Output: records are printed as JSON on stdout with every secret shown as
// "[redacted]"; only `export --reveal-secrets` and `key show-secret` print
// secrets. Messages and errors go to stderr and never hold secret
// material. A command the user may want to run next is printed whole, with
// the store flags of the invocation (hints.go). Only init creates a store
// (nostore.go). Exit codes: ExitOK, ExitFailure, ExitUsage.
//
// Only cmd/attestctl imports it.
package ctl

import (
	"context"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"
)

// Exit codes of Main.
const (
	ExitOK      = 0
	ExitFailure = 1
	ExitUsage   = 2
)

// DefaultTimeout bounds one command's store work unless --timeout says.
const DefaultTimeout = 30 * time.Second

// TryFunc runs `attestctl try ARGS...`: a real attestation against a
// running daemon. It is written elsewhere (it needs the Go client) and
// plugged in through Config, so this package does not depend on the client.
// It returns an exit code. Asked for help (-h), it writes its help on
// env.Stdout and returns ExitOK.
type TryFunc func(ctx context.Context, args []string, env TryEnv) int

// Config is what Main needs beyond its arguments. The zero value works:
// no try command, crypto/rand.
type Config struct {
	// Try implements the try subcommand; nil reports it is not built in.
	Try TryFunc
	// Rand is the randomness for new keys and secrets; nil: crypto/rand.
	Rand io.Reader
	// Now is the clock of debug token expiry; nil: time.Now.
	Now func() time.Time
	// Program is how hints name attestctl ("attestctl", "go run
	// ./cmd/attestctl"); empty: as this process was started (hint.Program).
	Program string

	// afterStep, when set (tests), runs after each durable step of a
	// multi-step command; an error stops the command there, as a crash
	// would.
	afterStep func(step string) error
}

// usageError marks an error as a usage error (exit code 2).
type usageError struct {
	msg string
	err error // the cause, when it is another error
}

func (e *usageError) Error() string { return e.msg }
func (e *usageError) Unwrap() error { return e.err }

func usagef(format string, args ...any) error { return &usageError{msg: fmt.Sprintf(format, args...)} }

// asUsage marks err as a usage error.
func asUsage(err error) error { return &usageError{msg: err.Error(), err: err} }

// Main runs attestctl with args (without the program name) and returns the
// exit code.
func Main(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	return Config{}.Main(ctx, args, stdin, stdout, stderr)
}

// Main runs attestctl with args (without the program name) and returns the
// exit code.
func (c Config) Main(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if c.Rand == nil {
		c.Rand = rand.Reader
	}
	r := &runner{cfg: c, stdin: stdin, stdout: stdout, stderr: stderr}
	r.g.defaults()
	defer r.close()

	fs := newFlagSet("attestctl")
	r.g.register(fs)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			writeOverview(stdout)
			return ExitOK
		}
		return r.usage(nil, err)
	}
	r.g.noteGiven(fs)
	rest := fs.Args()
	if len(rest) == 0 {
		writeOverview(stderr)
		return ExitUsage
	}
	if rest[0] == "help" {
		return r.help(rest[1:])
	}
	if rest[0] == "try" {
		return r.try(ctx, rest[1:])
	}
	cmd, pos := lookup(commands(), rest)
	if cmd == nil {
		if g := longestGroup(rest); g != nil {
			if n := len(strings.Fields(g.name)); n == len(rest) {
				fmt.Fprintf(r.stderr, "attestctl: %q needs a subcommand\n\n", g.name)
			} else {
				fmt.Fprintf(r.stderr, "attestctl: unknown command %q\n\n", joinWords(rest, n+1))
			}
			writeGroupHelp(r.stderr, g, r.program())
			return ExitUsage
		}
		return r.usage(nil, usagef("unknown command %q", joinWords(rest, 3)))
	}
	return r.run(ctx, cmd, pos)
}

func (r *runner) run(ctx context.Context, cmd *command, args []string) int {
	fs := newFlagSet("attestctl " + cmd.name)
	r.g.register(fs)
	act := cmd.setup(fs)
	pos, err := parseInterspersed(cmd, fs, args)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			writeCommandHelp(r.stdout, cmd, fs)
			return ExitOK
		}
		return r.usage(cmd, err)
	}
	r.g.noteGiven(fs)
	r.creates = cmd.createsStore
	if len(pos) < cmd.minArgs || (cmd.maxArgs >= 0 && len(pos) > cmd.maxArgs) {
		return r.usage(cmd, usagef("wrong number of arguments"))
	}
	if r.g.timeout <= 0 {
		return r.usage(cmd, usagef("--timeout must be positive"))
	}
	ctx, cancel := context.WithTimeout(ctx, r.g.timeout)
	defer cancel()
	err = nil
	if !r.creates && !cmd.storeless {
		err = r.checkFileStore() // before any command reads its key file
	}
	if err == nil {
		err = act(ctx, r, pos)
	}
	if err != nil {
		var ue *usageError
		if errors.As(err, &ue) {
			return r.usage(cmd, err)
		}
		fmt.Fprintf(r.stderr, "attestctl %s: %v\n", cmd.name, r.withHints(cmd.name, explain(cmd, err)))
		return ExitFailure
	}
	return ExitOK
}

func (r *runner) try(ctx context.Context, args []string) int {
	if r.cfg.Try == nil {
		fmt.Fprintln(r.stderr, "attestctl try: not built into this attestctl")
		return ExitFailure
	}
	if r.g.timeout <= 0 {
		return r.usage(nil, usagef("--timeout must be positive"))
	}
	ctx, cancel := context.WithTimeout(ctx, r.g.timeout)
	defer cancel()
	return r.cfg.Try(ctx, args, r.tryEnv())
}

func (r *runner) usage(cmd *command, err error) int {
	if errors.Is(err, flag.ErrHelp) {
		return ExitOK
	}
	fmt.Fprintf(r.stderr, "attestctl: %v\n", r.withHints("", err))
	if cmd != nil {
		fmt.Fprintf(r.stderr, "usage: attestctl %s %s\nrun '%s' for more\n", cmd.name, cmd.args, r.plainHint(append([]string{"help"}, strings.Fields(cmd.name)...)...))
	} else {
		fmt.Fprintf(r.stderr, "run '%s' for the commands\n", r.plainHint("help"))
	}
	return ExitUsage
}

func (r *runner) help(args []string) int {
	if len(args) == 0 {
		writeOverview(r.stdout)
		return ExitOK
	}
	if len(args) == 1 && args[0] == "try" {
		return r.tryHelp()
	}
	cmd, pos := lookup(commands(), args)
	if cmd == nil || len(pos) > 0 {
		if g := groupOf(args...); g != nil {
			writeGroupHelp(r.stdout, g, r.program())
			return ExitOK
		}
	}
	if cmd == nil || len(pos) > 0 {
		return r.usage(nil, usagef("no command %q", strings.Join(args, " ")))
	}
	fs := newFlagSet("attestctl " + cmd.name)
	r.g.register(fs)
	cmd.setup(fs)
	writeCommandHelp(r.stdout, cmd, fs)
	return ExitOK
}
