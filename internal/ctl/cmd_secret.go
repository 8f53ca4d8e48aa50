package ctl

import (
	"context"
	"flag"

	"github.com/attestd/attestd/internal/state"
)

func secretCommands() []*command {
	return []*command{{
		name:    "secret put",
		args:    "ACCOUNT NAME [--apps APP,APP] [--value-file FILE]",
		summary: "set a runtime secret's value (read from a file or standard input)",
		help: `The value is read from --value-file, or else from standard input (without
echo on a terminal), never from a flag, so it does not show in ps or shell
history. One trailing newline is removed. --apps sets the apps the secret is
released to (apps of this account); without --apps an existing secret keeps
its apps and a new one is released to none.`,
		minArgs: 2, maxArgs: 2,
		setup: func(fs *flag.FlagSet) action {
			var apps listFlag
			fs.Var(&apps, "apps", "comma-separated `APPS` the secret is released to")
			file := fs.String("value-file", "", "read the value from `FILE` (default: standard input)")
			return func(ctx context.Context, r *runner, args []string) error {
				v, err := readSecretValue(r, *file)
				if err != nil {
					return err
				}
				return r.mutate(ctx, func(seal state.Sealer) state.Mutation {
					return checked(seal, func(reg *state.Registry) error { return r.checkSecretApps(reg, args[0], apps.value()) },
						state.PutSecret(seal, args[0], args[1], v, apps.value()))
				}, "secret %s of account %s is set", args[1], args[0])
			}
		},
	}, {
		name:    "secret assign",
		args:    "ACCOUNT NAME --apps APP,APP",
		summary: "set the apps a runtime secret is released to",
		help: `Replaces the list of apps (of this account) the secret is released to;
--apps '' releases it to none. The value is unchanged. Running daemons
apply the change within 2 seconds.`,
		minArgs: 2, maxArgs: 2,
		setup: func(fs *flag.FlagSet) action {
			var apps listFlag
			fs.Var(&apps, "apps", "comma-separated `APPS` (empty: none)")
			return func(ctx context.Context, r *runner, args []string) error {
				if !apps.set {
					return usagef("--apps is required (use --apps '' for none)")
				}
				return r.mutate(ctx, func(seal state.Sealer) state.Mutation {
					return checked(seal, func(reg *state.Registry) error { return r.checkSecretApps(reg, args[0], apps.value()) },
						state.AssignSecret(seal, args[0], args[1], apps.value()))
				}, "secret %s of account %s is released to %d app(s)", args[1], args[0], len(apps.vals))
			}
		},
	}, {
		name:    "secret delete",
		args:    "ACCOUNT NAME",
		summary: "delete a runtime secret (refused while a proxied API injects it)",
		help: `Removes the secret and its value from the account. Apps stop receiving it
within 2 seconds. Refused while a proxied API of the account injects it:
remove the API first ('api remove'), or point it at another secret ('api put').`,
		minArgs: 2, maxArgs: 2,
		setup: func(*flag.FlagSet) action {
			return func(ctx context.Context, r *runner, args []string) error {
				return r.mutate(ctx, func(seal state.Sealer) state.Mutation {
					return checked(seal, func(reg *state.Registry) error { return r.checkSecretUnused(reg, args[0], args[1]) },
						state.DeleteSecret(seal, args[0], args[1]))
				}, "secret %s of account %s is deleted", args[1], args[0])
			}
		},
	}, {
		name:    "secret list",
		args:    "ACCOUNT",
		summary: "list an account's runtime secrets (names and apps, never values)",
		help: `Prints a JSON array of {"name", "apps"}: which secret is released to which
apps. Values are never shown ('export --reveal-secrets' is the only way to
read them back).`,
		minArgs: 1, maxArgs: 1,
		setup: func(*flag.FlagSet) action { return runSecretList },
	}}
}

type secretInfo struct {
	Name string   `json:"name"`
	Apps []string `json:"apps"`
}

func runSecretList(ctx context.Context, r *runner, args []string) error {
	a, err := r.account(ctx, args[0])
	if err != nil {
		return err
	}
	out := []secretInfo{}
	for _, s := range a.Secrets {
		apps := s.Apps
		if apps == nil {
			apps = []string{}
		}
		out = append(out, secretInfo{Name: s.Name, Apps: apps})
	}
	return r.printJSON(out)
}
