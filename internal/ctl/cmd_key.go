package ctl

import (
	"context"
	"crypto"
	"crypto/x509"
	"encoding/base64"
	"flag"

	"github.com/attestd/attestd/internal/model"
	"github.com/attestd/attestd/internal/state"
)

func keyCommands() []*command {
	return []*command{{
		name:    "key add",
		args:    "ACCOUNT --alg HS256|ES256|EdDSA [--kid KID]",
		summary: "generate a new token key for an account, with status verify",
		help: `Generates the key material here (HS256: 32 random bytes; ES256: a P-256 key;
EdDSA: an Ed25519 key) and stores it sealed. The key starts as "verify":
verifiers accept it (asymmetric keys are published in the JWKS at once) but
it signs nothing until 'key activate'. Without --kid the next free k<N> is
used.

Rotation: key add, wait for backends to fetch the new JWKS, key activate,
then after the account's token TTL has passed, key retire the old key.`,
		minArgs: 1, maxArgs: 1,
		setup: func(fs *flag.FlagSet) action {
			alg := fs.String("alg", model.AlgHS256, "key algorithm: HS256, ES256 or EdDSA")
			kid := fs.String("kid", "", "key id (default: the next free k<N>)")
			return func(ctx context.Context, r *runner, args []string) error {
				return runKeyAdd(ctx, r, args[0], *alg, *kid)
			}
		},
	}, {
		name:    "key activate",
		args:    "ACCOUNT KID",
		summary: "make a key the account's signing key (the old one becomes verify)",
		help: `New tokens are signed with KID within 2 seconds on every running daemon.
The key active before becomes "verify", so tokens it signed keep verifying.`,
		minArgs: 2, maxArgs: 2,
		setup: func(*flag.FlagSet) action {
			return func(ctx context.Context, r *runner, args []string) error {
				return r.mutate(ctx, func(seal state.Sealer) state.Mutation {
					return state.ActivateKey(seal, args[0], args[1])
				},
					"key %s of account %s is active", args[1], args[0])
			}
		},
	}, {
		name:    "key retire",
		args:    "ACCOUNT KID",
		summary: "retire a key: tokens it signed stop verifying",
		help: `Retire a replaced key only once the account's token TTL has passed since it
was replaced, or tokens still in use will fail. The active key cannot be
retired.`,
		minArgs: 2, maxArgs: 2,
		setup: func(*flag.FlagSet) action {
			return func(ctx context.Context, r *runner, args []string) error {
				return r.mutate(ctx, func(seal state.Sealer) state.Mutation {
					return state.RetireKey(seal, args[0], args[1])
				},
					"key %s of account %s is retired", args[1], args[0])
			}
		},
	}, {
		name:    "key list",
		args:    "ACCOUNT",
		summary: "list an account's keys (kid, alg, status, public key) as JSON",
		help: `Prints a JSON array of the account's keys: kid, alg, status (active,
verify, retired) and, for ES256 and EdDSA keys, the public key (b64 of its
SubjectPublicKeyInfo DER). Never a secret or private key: an HS256 secret
is printed only by 'key show-secret'.`,
		minArgs: 1, maxArgs: 1,
		setup: func(*flag.FlagSet) action { return runKeyList },
	}}
}

// mutate opens the store, applies the mutation that build makes with the
// store's sealer, and reports done (a printf line).
func (r *runner) mutate(ctx context.Context, build func(state.Sealer) state.Mutation, done string, args ...any) error {
	_, seal, err := r.open(ctx)
	if err != nil {
		return err
	}
	rev, err := r.update(ctx, build(seal))
	if err != nil {
		return err
	}
	r.say(done+" (revision %d)", append(args, rev)...)
	return nil
}

func runKeyAdd(ctx context.Context, r *runner, account, alg, kid string) error {
	switch alg {
	case model.AlgHS256, model.AlgES256, model.AlgEdDSA:
	default:
		return usagef("--alg must be HS256, ES256 or EdDSA, not %q", alg)
	}
	if kid != "" {
		if err := model.ValidateID("--kid", kid); err != nil {
			return usagef("%v", err)
		}
	}
	k, err := state.GenerateKey(alg, kid, r.cfg.Rand)
	if err != nil {
		return err
	}
	_, seal, err := r.open(ctx)
	if err != nil {
		return err
	}
	var chosen string
	rev, err := r.update(ctx, state.AddKey(seal, account, k, &chosen))
	if err != nil {
		return err
	}
	r.say("added %s key %s to account %s with status verify (revision %d)", alg, chosen, account, rev)
	if alg == model.AlgHS256 {
		r.say("give backends its secret first: %s", r.ctlHint("key", "show-secret", account, chosen))
	} else {
		r.say("backends that cache the JWKS see the new key within its max-age (5 minutes): activate it after that")
	}
	r.say("make it sign with: %s", r.ctlHint("key", "activate", account, chosen))
	return nil
}

// keyInfo is what `key list` shows of a key: never its secret.
type keyInfo struct {
	KID    string `json:"kid"`
	Alg    string `json:"alg"`
	Status string `json:"status"`
	// PublicKey is b64 of the SPKI DER (asymmetric keys only).
	PublicKey string `json:"public_key,omitempty"`
}

func runKeyList(ctx context.Context, r *runner, args []string) error {
	a, err := r.account(ctx, args[0])
	if err != nil {
		return err
	}
	out := []keyInfo{}
	for _, k := range a.Keys {
		out = append(out, keyInfo{KID: k.KID, Alg: k.Alg, Status: k.Status, PublicKey: publicKeyB64(k)})
	}
	return r.printJSON(out)
}

// publicKeyB64 returns b64 of the SPKI DER of an asymmetric key, or "".
func publicKeyB64(k model.Key) string {
	if k.PrivateKey.IsZero() {
		return ""
	}
	der, err := base64.StdEncoding.DecodeString(string(k.PrivateKey.Reveal()))
	if err != nil {
		return ""
	}
	priv, err := x509.ParsePKCS8PrivateKey(der)
	clear(der)
	if err != nil {
		return ""
	}
	signer, ok := priv.(crypto.Signer)
	if !ok {
		return ""
	}
	spki, err := x509.MarshalPKIXPublicKey(signer.Public())
	if err != nil {
		return ""
	}
	return base64.StdEncoding.EncodeToString(spki)
}
