package ctl

import (
	"context"
	"flag"
	"fmt"

	"github.com/attestd/attestd/internal/model"
	"github.com/attestd/attestd/internal/state"
)

func readCommands() []*command {
	return []*command{{
		name:    "get",
		args:    "account|app ID",
		summary: "print one account or app as JSON (secrets redacted)",
		help: `Prints the stored record as a bundle holds it: an account with its keys,
secrets, pins and APIs (key secrets, private keys and secret values read
"[redacted]"), or an app with its signers, versions and policy.`,
		minArgs: 2, maxArgs: 2,
		setup: func(*flag.FlagSet) action { return runGet },
	}, {
		name:    "list",
		args:    "accounts|apps|bans",
		summary: "print every account, every app, or the ban list as JSON (secrets redacted)",
		help: `Prints a JSON array of every account or every app (sorted by id), or the
ban list as {"devices": [...]}. Secrets read "[redacted]".`,
		minArgs: 1, maxArgs: 1,
		setup: func(*flag.FlagSet) action { return runList },
	}}
}

func runGet(ctx context.Context, r *runner, args []string) error {
	kind, id := args[0], args[1]
	if kind != "account" && kind != "app" {
		return usagef("get: want account or app, not %q", kind)
	}
	_, reg, err := r.load(ctx)
	if err != nil {
		return err
	}
	switch kind {
	case "account":
		a := reg.Accounts[id]
		if a == nil {
			return fmt.Errorf("%w: account %q", state.ErrNotFound, id)
		}
		state.Redact(a)
		return r.printJSON(a)
	default:
		a := reg.Apps[id]
		if a == nil {
			return fmt.Errorf("%w: app %q", state.ErrNotFound, id)
		}
		return r.printJSON(a)
	}
}

func runList(ctx context.Context, r *runner, args []string) error {
	what := args[0]
	switch what {
	case "accounts", "apps", "bans":
	default:
		return usagef("list: want accounts, apps or bans, not %q", what)
	}
	_, reg, err := r.load(ctx)
	if err != nil {
		return err
	}
	switch what {
	case "accounts":
		out := []*model.Account{}
		for _, id := range sortedKeys(reg.Accounts) {
			a := reg.Accounts[id]
			state.Redact(a)
			out = append(out, a)
		}
		return r.printJSON(out)
	case "apps":
		out := []*model.App{}
		for _, id := range sortedKeys(reg.Apps) {
			out = append(out, reg.Apps[id])
		}
		return r.printJSON(out)
	default:
		bans := reg.Bans
		if bans == nil || bans.Devices == nil {
			bans = &model.Bans{Devices: []string{}}
		}
		return r.printJSON(bans)
	}
}
