package ctl

import (
	"cmp"
	"context"
	"flag"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/attestd/attestd/crypto/debugtoken"
	"github.com/attestd/attestd/internal/model"
	"github.com/attestd/attestd/internal/state"
)

// monitorCommands are the commands of PROTOCOL.md §11: an app's
// enforcement mode and its debug tokens.
func monitorCommands() []*command {
	return []*command{{
		name:    "app enforcement",
		args:    "APP monitor|enforce",
		summary: "switch an app between monitor mode and enforcement",
		help: `monitor: failed verdicts are signed with the account's real key and marked
"mon": true with their reasons in "arc", so that backends accept them while
you watch what enforcement would refuse (attestd_verdict_failures_total
{mode="monitor"}); secrets are still released only on a pass. enforce (the
default): failed verdicts get a decoy token no backend accepts. Running
daemons apply the switch within 2 seconds. The rest of the app's policy is
unchanged; an import that names the app sets its mode from the bundle's
policy.enforcement (absent: enforce).`,
		minArgs: 2, maxArgs: 2,
		setup: func(*flag.FlagSet) action { return runEnforcement },
	}, {
		name:    "debug-token add",
		args:    "ACCOUNT APP NAME [--ttl D] [--secrets]",
		summary: "make a debug token for an app's emulators, CI and debug builds (printed once)",
		help: fmt.Sprintf(`Prints a new debug token on standard output, once: the store keeps only its
MAC under a deployment key, so it cannot be shown again (revoke it and add
another if it is lost). An attest that sends it as "debug_token" is not
checked for signer, version, measurement, integrity flags or platform
attestation; the nonce, the signature, the app id, the platform and device
bans still apply. Its token carries "dbg": NAME. Secrets are released to
it only with --secrets.

NAME is 1 to %d letters, digits and ._-@+: and unique among the app's live
tokens. --ttl is a Go duration (90m, 720h) or a number of days (30d):
default %s, at most %s. An app has at most %d live debug tokens; expired
ones are removed by the next add. Running daemons accept the token within 2
seconds.`, state.MaxDebugTokenNameLen, days(state.DefaultDebugTokenTTL), days(state.MaxDebugTokenTTL), state.MaxDebugTokensPerApp),
		minArgs: 3, maxArgs: 3,
		setup: func(fs *flag.FlagSet) action {
			ttl := fs.String("ttl", "", "lifetime `D`: a Go duration or a number of days such as 30d (default "+days(state.DefaultDebugTokenTTL)+")")
			secrets := fs.Bool("secrets", false, "release the app's runtime secrets to verdicts made with this token")
			return func(ctx context.Context, r *runner, args []string) error {
				d, err := parseTTL(*ttl)
				if err != nil {
					return err
				}
				return runDebugTokenAdd(ctx, r, args, d, *secrets)
			}
		},
	}, {
		name:    "debug-token list",
		args:    "[ACCOUNT [APP]]",
		summary: "list debug tokens: names, apps and expiry as JSON (never the tokens)",
		help: `Lists the debug tokens of the store, of one account, or of one app of it:
for each, its name, account, app, when it was made, when it expires, and
whether it releases runtime secrets. Neither the token nor its MAC is
shown: a lost token cannot be printed again; revoke it and add a new one.`,
		maxArgs: 2,
		setup:   func(*flag.FlagSet) action { return runDebugTokenList },
	}, {
		name:    "debug-token revoke",
		args:    "ACCOUNT APP NAME",
		summary: "end a debug token (running daemons refuse it within 2 seconds)",
		help: `Removes the debug token NAME of APP in ACCOUNT. Every node refuses it
within 2 seconds (debug_token_invalid), and the secrets proxy stops
accepting the tokens it made at the same time; tokens a node already minted
with it stay valid for their own lifetime (the account's token TTL) at the
app's backends.`,
		minArgs: 3, maxArgs: 3,
		setup: func(*flag.FlagSet) action {
			return func(ctx context.Context, r *runner, args []string) error {
				return r.mutate(ctx, func(state.Sealer) state.Mutation { return state.RevokeDebugToken(args[0], args[1], args[2]) },
					"debug token %s of app %s is revoked", args[2], args[1])
			}
		},
	}}
}

func runEnforcement(ctx context.Context, r *runner, args []string) error {
	mode := args[1]
	if mode != model.EnforcementMonitor && mode != model.EnforcementEnforce {
		return usagef("want monitor or enforce, not %q", mode)
	}
	_, seal, err := r.open(ctx)
	if err != nil {
		return err
	}
	var changed bool
	rev, err := r.update(ctx, state.SetEnforcement(seal, args[0], mode, &changed))
	if err != nil {
		return err
	}
	if !changed {
		r.say("app %s is already in %s mode (revision %d)", args[0], mode, rev)
		return nil
	}
	r.say("app %s is now in %s mode (revision %d)", args[0], mode, rev)
	return nil
}

func runDebugTokenAdd(ctx context.Context, r *runner, args []string, ttl time.Duration, secrets bool) error {
	if err := state.ValidateDebugTokenName(args[2]); err != nil {
		return asUsage(err)
	}
	tok, err := debugtoken.New(r.cfg.Rand)
	if err != nil {
		return err
	}
	_, seal, err := r.open(ctx)
	if err != nil {
		return err
	}
	req := state.DebugTokenRequest{Account: args[0], App: args[1], Name: args[2], Token: tok, TTL: ttl, Secrets: secrets, Now: r.now()}
	var rec state.DebugToken
	rev, err := r.update(ctx, state.AddDebugToken(seal, r.cfg.Rand, req, &rec))
	if err != nil {
		return err
	}
	fmt.Fprintf(r.stderr, "debug token %s of app %s (account %s) expires %s, secrets %s (revision %d).\n"+
		"It is shown only now: keep it as a secret of your CI or emulator set-up, never in an app build.\n",
		rec.Name, rec.App, rec.Account, time.Unix(rec.ExpiresAt, 0).UTC().Format(time.RFC3339), yesNo(rec.Secrets), rev)
	_, err = fmt.Fprintln(r.stdout, tok)
	return err
}

// debugTokenInfo is one line of debug-token list: never the token or its
// MAC.
type debugTokenInfo struct {
	Account   string `json:"account"`
	App       string `json:"app"`
	Name      string `json:"name"`
	Created   string `json:"created"`
	Expires   string `json:"expires"`
	ExpiresAt int64  `json:"expires_at"`
	Expired   bool   `json:"expired"`
	Secrets   bool   `json:"secrets"`
}

func runDebugTokenList(ctx context.Context, r *runner, args []string) error {
	_, reg, err := r.load(ctx)
	if err != nil {
		return err
	}
	now := r.now()
	out := []debugTokenInfo{}
	for _, k := range sortedKeys(reg.DebugTokens) {
		t := reg.DebugTokens[k]
		if len(args) > 0 && t.Account != args[0] || len(args) > 1 && t.App != args[1] {
			continue
		}
		out = append(out, debugTokenInfo{Account: t.Account, App: t.App, Name: t.Name,
			Created: time.Unix(t.CreatedAt, 0).UTC().Format(time.RFC3339), Expires: time.Unix(t.ExpiresAt, 0).UTC().Format(time.RFC3339),
			ExpiresAt: t.ExpiresAt, Expired: now.Unix() >= t.ExpiresAt, Secrets: t.Secrets})
	}
	slices.SortFunc(out, func(a, b debugTokenInfo) int {
		return cmp.Or(cmp.Compare(a.Account, b.Account), cmp.Compare(a.App, b.App), cmp.Compare(a.Name, b.Name))
	})
	return r.printJSON(out)
}

// parseTTL reads --ttl: empty (the default), a Go duration, or whole days
// ("30d").
func parseTTL(s string) (time.Duration, error) {
	if s == "" {
		return 0, nil
	}
	if n, ok := strings.CutSuffix(s, "d"); ok {
		d, err := strconv.Atoi(n)
		if err != nil || d <= 0 || d > 100000 {
			return 0, usagef("--ttl %q: want a Go duration or a positive number of days such as 30d", s)
		}
		return time.Duration(d) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, usagef("--ttl %q: want a Go duration or a positive number of days such as 30d", s)
	}
	return d, nil
}

func days(d time.Duration) string { return strconv.Itoa(int(d/(24*time.Hour))) + "d" }

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}
