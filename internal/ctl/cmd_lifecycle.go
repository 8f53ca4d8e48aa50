package ctl

import (
	"context"
	"flag"
	"fmt"
	"strings"

	"github.com/attestd/attestd/internal/state"
)

func lifecycleCommands() []*command {
	return []*command{{
		name:    "account remove",
		args:    "ACCOUNT --yes",
		summary: "remove an account and everything under it (apps, keys, secrets, pins, APIs)",
		help: `Removes the account record (its token keys, runtime secrets, pins and
proxied APIs live in it) and every app of the account, in one atomic store
change: a crash leaves all of it or none. Device bans are deployment-wide
and stay. Running daemons apply the removal within 2 seconds: the apps then
answer as unknown apps (app_unknown, with the deployment's decoy token), the
account's JWKS answers not_found and its APIs are no longer proxied.

Without --yes nothing is removed: the command says what would go and exits
with status 2.`,
		minArgs: 1, maxArgs: 1,
		setup: func(fs *flag.FlagSet) action {
			yes := fs.Bool("yes", false, "really remove (without it, only say what would go)")
			return func(ctx context.Context, r *runner, args []string) error {
				again := []string{"account", "remove", args[0], "--yes"}
				return r.remove(ctx, *yes, again, func(seal state.Sealer, rm *state.Removal) state.Mutation {
					return state.RemoveAccount(seal, args[0], rm)
				})
			}
		},
	}, {
		name:    "app remove",
		args:    "ACCOUNT APP --yes",
		summary: "remove an app of an account (and take it off the account's secrets)",
		help: `Removes the app record and takes the app off the apps of every runtime
secret of the account, in one atomic store change; the secrets stay with
the account. Device bans are deployment-wide and stay. Running daemons
apply the removal within 2 seconds: the app's attests then get the
app_unknown verdict (the deployment's decoy token, no secrets, no pins), and
its enrolment receipts no longer count.

Without --yes nothing is removed: the command says what would go and exits
with status 2.`,
		minArgs: 2, maxArgs: 2,
		setup: func(fs *flag.FlagSet) action {
			yes := fs.Bool("yes", false, "really remove (without it, only say what would go)")
			return func(ctx context.Context, r *runner, args []string) error {
				again := []string{"app", "remove", args[0], args[1], "--yes"}
				return r.remove(ctx, *yes, again, func(seal state.Sealer, rm *state.Removal) state.Mutation {
					return state.RemoveApp(seal, args[0], args[1], rm)
				})
			}
		},
	}}
}

// remove runs a removal: with yes it commits it, without it runs the same
// mutation on the current snapshot, writes nothing, and refuses with a
// usage error that says what would go and the command (again) that
// removes it. Not-found errors come first either way.
func (r *runner) remove(ctx context.Context, yes bool, again []string, build func(state.Sealer, *state.Removal) state.Mutation) error {
	_, seal, err := r.open(ctx)
	if err != nil {
		return err
	}
	var rm state.Removal
	if !yes {
		snap, _, err := r.load(ctx)
		if err != nil {
			return err
		}
		if _, err := build(seal, &rm)(snap); err != nil {
			return err
		}
		return usagef("nothing removed: %s would go; to remove it, run: %s", describeRemoval(rm), r.ctlHint(again...))
	}
	rev, err := r.update(ctx, build(seal, &rm))
	if err != nil {
		return err
	}
	r.say("removed %s (revision %d)", describeRemoval(rm), rev)
	return nil
}

func describeRemoval(rm state.Removal) string {
	var b strings.Builder
	if rm.AccountRemoved {
		fmt.Fprintf(&b, "account %s with %s", rm.Account, list("app", rm.Apps))
		fmt.Fprintf(&b, ", %s, %s, %s", list("token key", rm.Keys), list("runtime secret", rm.Secrets), list("proxied API", rm.APIs))
		if len(rm.DebugTokens) > 0 {
			fmt.Fprintf(&b, ", %s", list("debug token", rm.DebugTokens))
		}
		return b.String()
	}
	fmt.Fprintf(&b, "app %s of account %s", strings.Join(rm.Apps, ", "), rm.Account)
	if len(rm.Secrets) > 0 {
		fmt.Fprintf(&b, " (and its release of %s)", list("runtime secret", rm.Secrets))
	}
	if len(rm.DebugTokens) > 0 {
		fmt.Fprintf(&b, " with %s", list("debug token", rm.DebugTokens))
	}
	return b.String()
}

// list is "no apps", "1 app (a)" or "2 apps (a, b)".
func list(noun string, names []string) string {
	switch len(names) {
	case 0:
		return "no " + noun + "s"
	case 1:
		return fmt.Sprintf("1 %s (%s)", noun, names[0])
	}
	return fmt.Sprintf("%d %ss (%s)", len(names), noun, strings.Join(names, ", "))
}
