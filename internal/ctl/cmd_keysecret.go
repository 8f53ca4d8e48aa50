package ctl

import (
	"context"
	"flag"
	"fmt"

	"github.com/attestd/attestd/internal/model"
	"github.com/attestd/attestd/internal/state"
)

func keySecretCommands() []*command {
	return []*command{{
		name:    "key show-secret",
		args:    "ACCOUNT KID",
		summary: "print an HS256 key's secret (b64), for the backends that verify its tokens",
		help: `Prints the secret of the account's HS256 key KID on standard output, as
standard base64 of the key bytes (what a bundle's "secret" holds and what
package backend and any JWT library take once decoded), and nothing else,
so that it can be piped into a secret manager:

  attestctl key show-secret acme k1 > acme-k1.b64

Whoever holds it can mint tokens that the account's backends accept: keep
it out of logs, tickets and shell history. ES256 and EdDSA keys have no
shared secret: backends verify them with the public keys of
/v1/accounts/ACCOUNT/jwks.json (or 'key list'), and their private keys are
never printed by this command.`,
		minArgs: 2, maxArgs: 2,
		setup: func(*flag.FlagSet) action { return runKeyShowSecret },
	}}
}

func runKeyShowSecret(ctx context.Context, r *runner, args []string) error {
	a, err := r.account(ctx, args[0])
	if err != nil {
		return err
	}
	for _, k := range a.Keys {
		if k.KID != args[1] {
			continue
		}
		if k.Alg != model.AlgHS256 {
			return fmt.Errorf("%w: key %s of account %s is %s: it has no shared secret; backends verify its tokens with the public key (%s)",
				state.ErrRefused, k.KID, a.ID, k.Alg, r.ctlHint("key", "list", a.ID))
		}
		if k.Status == model.StatusRetired {
			fmt.Fprintf(r.stderr, "attestctl key show-secret: key %s is retired: tokens it signed no longer verify anywhere\n", k.KID)
		}
		fmt.Fprintln(r.stderr, "attestctl key show-secret: standard output holds the secret; whoever has it can mint this account's tokens")
		_, err := fmt.Fprintf(r.stdout, "%s\n", k.Secret.Reveal())
		return err
	}
	return fmt.Errorf("%w: key %q of account %q", state.ErrNotFound, args[1], args[0])
}
