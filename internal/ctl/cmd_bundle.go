package ctl

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/attestd/attestd/internal/model"
	"github.com/attestd/attestd/internal/state"
	"github.com/attestd/attestd/store"
)

func bundleCommands() []*command {
	return []*command{{
		name:    "import",
		args:    "FILE|-",
		summary: "apply a bundle (FILE, or - for standard input)",
		help: `The whole bundle is checked first; an error names the bad field (for example
accounts[0].keys[1].secret) and nothing is written. Then it is applied in one
atomic write: every account, app or ban list the bundle names replaces the
stored one whole; what it does not name stays. Running daemons pick the change
up within 2 seconds. Deployment keys are created if missing.

A bundle exported without --reveal-secrets is refused: its secrets read
"[redacted]".`,
		minArgs: 1, maxArgs: 1,
		setup: func(*flag.FlagSet) action { return runImport },
	}, {
		name:    "export",
		args:    "[--reveal-secrets]",
		summary: "print the registry as a bundle (secrets redacted)",
		help: `Prints every account, app and the ban list as one JSON bundle. Key secrets,
private keys and runtime secret values show as "[redacted]" unless
--reveal-secrets is given; only then can the output be imported back.
Deployment keys are never exported.`,
		maxArgs: 0,
		setup: func(fs *flag.FlagSet) action {
			reveal := fs.Bool("reveal-secrets", false, "print secrets and private keys in clear")
			return func(ctx context.Context, r *runner, _ []string) error { return runExport(ctx, r, *reveal) }
		},
	}}
}

func runImport(ctx context.Context, r *runner, args []string) error {
	in, name, err := openInput(r, args[0])
	if err != nil {
		return err
	}
	defer in.Close()
	b, err := model.DecodeBundle(in)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	if err := state.CheckBundle(b); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	_, seal, err := r.open(ctx)
	if err != nil {
		return err
	}
	changed := 0
	rev, err := r.update(ctx, func(snap *store.Snapshot) (store.Changes, error) {
		ch, err := state.Apply(snap, b, seal, r.cfg.Rand)
		changed = len(ch.Put) + len(ch.Delete)
		return ch, err
	})
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	if changed == 0 {
		r.say("nothing to change (revision %d)", rev)
		return nil
	}
	bans := ""
	if b.Bans != nil {
		bans = ", the ban list"
	}
	r.say("imported %d account(s), %d app(s)%s: %d record(s) written, revision %d", len(b.Accounts), len(b.Apps), bans, changed, rev)
	return nil
}

// openInput opens FILE, or standard input for "-".
func openInput(r *runner, arg string) (io.ReadCloser, string, error) {
	if arg == "-" {
		return io.NopCloser(r.stdin), "standard input", nil
	}
	f, err := os.Open(arg)
	if err != nil {
		return nil, "", err
	}
	return f, arg, nil
}

func runExport(ctx context.Context, r *runner, reveal bool) error {
	_, seal, err := r.open(ctx)
	if err != nil {
		return err
	}
	snap, err := r.snapshot(ctx)
	if err != nil {
		return err
	}
	b, err := state.Export(snap, seal, reveal)
	if err != nil {
		return err
	}
	if !reveal {
		return r.printJSON(b)
	}
	out, err := state.MarshalRevealed(b)
	if err != nil {
		return err
	}
	fmt.Fprintln(r.stderr, "attestctl export: the output holds secrets and private keys in clear; keep it safe")
	_, err = fmt.Fprintf(r.stdout, "%s\n", out)
	return err
}
