package ctl

import (
	"context"
	"encoding/base64"
	"flag"
	"fmt"

	"github.com/attestd/attestd/internal/state"
)

func banCommands() []*command {
	return []*command{{
		name:    "ban add",
		args:    "DID",
		summary: "ban a device (its did: b64u SHA-256 of its key)",
		help: `Adds DID to the deployment-wide ban list: within 2 seconds every attest
by that device key fails with device_banned, whatever the app. The did is
the token's "did" claim. A did may begin with "-": put "--" before it
(attestctl ban add -- -AbC...).`,
		minArgs: 1, maxArgs: 1,
		setup: func(*flag.FlagSet) action {
			return func(ctx context.Context, r *runner, args []string) error {
				return r.mutate(ctx, func(state.Sealer) state.Mutation { return state.AddBan(args[0]) },
					"device %s is banned", args[0])
			}
		},
	}, {
		name:    "ban remove",
		args:    "DID",
		summary: "lift a device ban",
		help: `Removes DID from the ban list; its attests are judged as any other's
within 2 seconds. A did that is not banned is an error.`,
		minArgs: 1, maxArgs: 1,
		setup: func(*flag.FlagSet) action {
			return func(ctx context.Context, r *runner, args []string) error {
				return r.mutate(ctx, func(state.Sealer) state.Mutation { return state.RemoveBan(args[0]) },
					"device %s is no longer banned", args[0])
			}
		},
	}}
}

// deploymentSet maps the names operators use to key sets.
func deploymentSet(name string) (string, error) {
	switch name {
	case "nonce":
		return state.SetNonce, nil
	case "receipt":
		return state.SetReceipt, nil
	case "tls", state.SetTLSSessionTickets:
		return state.SetTLSSessionTickets, nil
	}
	return "", usagef("want nonce, receipt or tls, not %q", name)
}

func deploymentCommands() []*command {
	return []*command{{
		name:    "deployment rotate",
		args:    "nonce|receipt|tls",
		summary: "add a new deployment key and make it active (the old stays for verification)",
		help: `nonce: the key that MACs challenges; receipt: the key that MACs enrolment
receipts; tls: the TLS session-ticket key. The new key is active on every
daemon within 2 seconds; the old one still verifies until removed with
'deployment remove-key' (wait at least the nonce lifetime, or the receipt
lifetime, first).`,
		minArgs: 1, maxArgs: 1,
		setup: func(*flag.FlagSet) action {
			return func(ctx context.Context, r *runner, args []string) error {
				set, err := deploymentSet(args[0])
				if err != nil {
					return err
				}
				var kid string
				_, seal, err := r.open(ctx)
				if err != nil {
					return err
				}
				rev, err := r.update(ctx, state.RotateDeploymentKey(seal, r.cfg.Rand, set, &kid))
				if err != nil {
					return err
				}
				r.say("%s key %s is active (revision %d)", args[0], kid, rev)
				return nil
			}
		},
	}, {
		name:    "deployment remove-key",
		args:    "nonce|receipt|tls KID",
		summary: "remove a deployment key that is no longer active",
		help: `Removes a key that 'deployment rotate' replaced: what it MACed stops
verifying (nonces and receipts it made, TLS sessions it resumed). Wait at
least the nonce lifetime (nonce) or the receipt lifetime (receipt) after the
rotation. The active key cannot be removed. KIDs: 'deployment show'.`,
		minArgs: 2, maxArgs: 2,
		setup: func(*flag.FlagSet) action {
			return func(ctx context.Context, r *runner, args []string) error {
				set, err := deploymentSet(args[0])
				if err != nil {
					return err
				}
				return r.mutate(ctx, func(seal state.Sealer) state.Mutation {
					return state.RemoveDeploymentKey(seal, r.cfg.Rand, set, args[1])
				}, "%s key %s removed", args[0], args[1])
			}
		},
	}, {
		name:    "deployment show",
		args:    "",
		summary: "print the deployment key ids (never the keys) as JSON",
		help: `Prints, for each set (nonce, receipt, tls), the active key id and every
key id held. Keys themselves are never printed or exported.`,
		maxArgs: 0,
		setup: func(*flag.FlagSet) action {
			return func(ctx context.Context, r *runner, _ []string) error {
				_, reg, err := r.load(ctx)
				if err != nil {
					return err
				}
				d := reg.Deployment
				if d == nil {
					return fmt.Errorf("%w: no deployment keys yet; create them with: %s", state.ErrNotFound, r.ctlHint("init"))
				}
				type set struct {
					Active string   `json:"active"`
					Keys   []string `json:"keys"`
				}
				return r.printJSON(map[string]set{
					"nonce":   {d.Nonce.Active, d.Nonce.KIDs()},
					"receipt": {d.Receipt.Active, d.Receipt.KIDs()},
					"tls":     {d.TLSSessionTickets.Active, d.TLSSessionTickets.KIDs()},
				})
			}
		},
	}}
}

func initCommands() []*command {
	return []*command{{
		name:    "init",
		args:    "[--demo] [--new-master-key FILE]",
		summary: "create the store, its master key and the deployment keys",
		help: `Creates what is missing and changes nothing else; running it again is
harmless. With --demo it also imports a DEMO registry (account "demo", app
"com.example.demo") to try attestd with, unless it is already there. The demo
app's code digest and signer are fixed, publicly known values: never use the
demo account to protect anything.

A file store creates its own master key (<dir>/master.key). An etcd store
needs a master key file, the same on every node and for attestctl: with
--new-master-key FILE, init first writes a new one there (as 'attestctl
master-key new FILE': mode 0600, never replacing a file), then initialises
the store with it; or give an existing one with --master-key FILE.`,
		maxArgs:      0,
		createsStore: true,
		setup: func(fs *flag.FlagSet) action {
			demo := fs.Bool("demo", false, "also seed the demo account and app")
			newKey := fs.String("new-master-key", "", "write a new master key `FILE` first and use it (refused if FILE exists)")
			return func(ctx context.Context, r *runner, _ []string) error {
				if *newKey != "" {
					if r.g.masterKey != "" {
						return usagef("init: give --master-key FILE (an existing key file) or --new-master-key FILE (a new one), not both")
					}
					if _, err := createMasterKey(r, *newKey); err != nil {
						return err
					}
				}
				return runInit(ctx, r, *demo)
			}
		},
	}}
}

func runInit(ctx context.Context, r *runner, demo bool) error {
	_, seal, err := r.open(ctx)
	if err != nil {
		return err
	}
	if !demo {
		rev, err := r.update(ctx, state.EnsureDeployment(seal, r.cfg.Rand))
		if err != nil {
			return err
		}
		r.say("store %s is ready (revision %d)", r.g.storeURL, rev)
		r.say("serve it with: %s", r.daemonHint())
		return nil
	}
	var seeded bool
	rev, err := r.update(ctx, state.SeedDemo(seal, r.cfg.Rand, &seeded))
	if err != nil {
		return err
	}
	info := state.Demo()
	if seeded {
		r.say("store %s is ready with the DEMO account (revision %d)", r.g.storeURL, rev)
	} else {
		r.say("store %s is ready; the demo was already there (revision %d)", r.g.storeURL, rev)
	}
	r.say("demo account %s, %s app %s version %s", info.AccountID, info.Platform, info.AppID, info.Version)
	r.say("  code digest (b64u): %s", base64.RawURLEncoding.EncodeToString(info.CodeDigest))
	r.say("  signer (b64u):      %s", base64.RawURLEncoding.EncodeToString(info.Signer))
	r.say("try it: start a node on this store, and attest the demo app against it from another terminal:")
	r.say("  %s", r.daemonHint())
	r.say("  %s", r.plainHint("try"))
	return nil
}
