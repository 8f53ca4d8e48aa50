package ctl

import (
	"context"
	"flag"
	"strings"
	"time"

	"github.com/attestd/attestd/internal/model"
	"github.com/attestd/attestd/internal/state"
)

// registerCommands make accounts and apps from the command line, as an
// import of a one-record bundle would (see state.AddAccount).
func registerCommands() []*command {
	return []*command{accountAddCommand(), appAddCommand(), appVersionAddCommand(), appVersionRemoveCommand()}
}

func accountAddCommand() *command {
	return &command{
		name:    "account add",
		args:    "ACCOUNT [--alg HS256|ES256|EdDSA] [--kid KID] [--ttl D] [--annotate]",
		summary: "create an account with a new token key (generated here, stored sealed)",
		help: `Creates the account with one new token key, active at once (HS256: 32
random bytes; ES256: a P-256 key; EdDSA: an Ed25519 key), sealed in the
store. The key is never printed: backends verify HS256 tokens with the
secret that 'key show-secret ACCOUNT KID' prints, and ES256 or EdDSA tokens
with the public keys every node serves at /v1/accounts/ACCOUNT/jwks.json.

--ttl is the token lifetime, 10s to 24h in whole seconds (default 5m).
--annotate puts the failure reasons in every token's "arc" claim (a
debugging aid for the account's owner: anyone holding a token can read
them). An account that exists already is refused. Register its apps with
'app add'.`,
		minArgs: 1, maxArgs: 1,
		setup: func(fs *flag.FlagSet) action {
			alg := fs.String("alg", model.AlgHS256, "token key algorithm: HS256, ES256 or EdDSA")
			kid := fs.String("kid", "k1", "key id")
			ttl := fs.Duration("ttl", 0, "token lifetime, 10s to 24h (default 5m)")
			annotate := fs.Bool("annotate", false, `add the failure reasons to tokens ("arc" claim)`)
			return func(ctx context.Context, r *runner, args []string) error {
				return runAccountAdd(ctx, r, args[0], *alg, *kid, *ttl, *annotate)
			}
		},
	}
}

// fieldError is a usage error naming the argument or flag at fault, from a
// model validation error for path.
func fieldError(err error) error {
	msg := strings.TrimPrefix(err.Error(), model.ErrInvalid.Error()+": ")
	return usagef("%s", msg)
}

func runAccountAdd(ctx context.Context, r *runner, id, alg, kid string, ttl time.Duration, annotate bool) error {
	if err := model.ValidateID("ACCOUNT", id); err != nil {
		return fieldError(err)
	}
	if err := model.ValidateID("--kid", kid); err != nil {
		return fieldError(err)
	}
	switch alg {
	case model.AlgHS256, model.AlgES256, model.AlgEdDSA:
	default:
		return usagef("--alg: must be HS256, ES256 or EdDSA, not %q", alg)
	}
	secs := 0
	if ttl != 0 {
		lo, hi := time.Duration(model.MinTokenTTL)*time.Second, time.Duration(model.MaxTokenTTL)*time.Second
		if ttl < lo || ttl > hi || ttl%time.Second != 0 {
			return usagef("--ttl: must be whole seconds from %v to %v, not %v", lo, hi, ttl)
		}
		secs = int(ttl / time.Second)
	}
	k, err := state.GenerateKey(alg, kid, r.cfg.Rand)
	if err != nil {
		return err
	}
	k.Status = model.StatusActive
	a := model.Account{ID: id, Token: model.TokenPolicy{TTL: secs, Annotate: annotate}, Keys: []model.Key{k}}
	_, seal, err := r.open(ctx)
	if err != nil {
		return err
	}
	rev, err := r.update(ctx, state.AddAccount(seal, r.cfg.Rand, a))
	if err != nil {
		return err
	}
	annot := "off"
	if annotate {
		annot = "on"
	}
	r.say("account %s created: %s key %s (active), token TTL %v, annotation %s (revision %d)",
		id, alg, kid, time.Duration(a.Token.TTLSeconds())*time.Second, annot, rev)
	if alg == model.AlgHS256 {
		r.say("the HS256 secret is sealed in the store and never printed unless asked; backends need it to verify tokens: %s",
			r.ctlHint("key", "show-secret", id, kid))
	} else {
		r.say("backends verify tokens with the public keys at /v1/accounts/%s/jwks.json on any node (also: %s)", id, r.ctlHint("key", "list", id))
	}
	r.say("next, register an app: %s", r.plainHint("help", "app", "add"))
	return nil
}

// policyFlags are the policy flags of app add, bound to a model.Policy.
func policyFlags(fs *flag.FlagSet, p *model.Policy) {
	fs.BoolVar(&p.AllowRooted, "allow-rooted", false, "pass devices the SDK finds rooted")
	fs.BoolVar(&p.AllowDebugger, "allow-debugger", false, "pass apps with a debugger attached")
	fs.BoolVar(&p.AllowHooked, "allow-hooked", false, "pass apps the SDK finds hooked")
	fs.BoolVar(&p.AllowEmulator, "allow-emulator", false, "pass emulators")
	fs.BoolVar(&p.RequirePlatformAttestation, "require-platform-attestation", false,
		"pass only with hardware evidence (android-key, apple-appattest) or its receipt")
	fs.StringVar(&p.AndroidMinSecurity, "android-min-security", "", "least Android key security level: software, tee (default) or strongbox")
	fs.BoolVar(&p.AllowUnlockedBootloader, "allow-unlocked-bootloader", false, "pass Android devices whose bootloader is unlocked")
	fs.BoolVar(&p.AllowAppattestDevelopment, "allow-appattest-development", false, "pass App Attest keys of the development environment")
}

func appAddCommand() *command {
	return &command{
		name:    "app add",
		args:    "ACCOUNT APP --platform android|ios [--team-id T] --signer DIGEST --version V --code-digest DIGEST [policy flags]",
		summary: "register an app under an account, with its signer and first version",
		help: `Registers app APP (its package name or bundle id) under ACCOUNT with the
signer (--signer, repeat it or give a comma-separated list for several)
and one version (--version, the versionName the SDK reports) with its
code digest (--code-digest). How to obtain both for Android and iOS
builds: docs/app-registration.md. Digests are 32 bytes, given in b64u (as
in a bundle), base64, or hex with or without colons (as keytool and
apksigner print them). --team-id (the Apple Team ID) is required for ios
apps and refused for android ones.

The policy is the strictest unless a policy flag relaxes it. An app that
exists already is refused; add versions with 'app version add'. Running
nodes serve the app within 2 seconds; 'try' attests it as the app would.`,
		minArgs: 2, maxArgs: 2,
		setup: func(fs *flag.FlagSet) action {
			a := model.App{}
			signers := &digestFlag{many: true}
			code := &digestFlag{}
			fs.StringVar(&a.Platform, "platform", "", "android or ios")
			fs.StringVar(&a.TeamID, "team-id", "", "Apple Team ID (ios apps only)")
			fs.Var(signers, "signer", "SHA-256 `DIGEST` of the signing certificate (repeatable, or comma-separated)")
			version := fs.String("version", "", "the first version `V` (as the SDK reports app.version)")
			fs.Var(code, "code-digest", "the code `DIGEST` of --version (32 bytes)")
			policyFlags(fs, &a.Policy)
			return func(ctx context.Context, r *runner, args []string) error {
				a.Account, a.ID, a.Signers = args[0], args[1], signers.vals
				return runAppAdd(ctx, r, a, *version, code.value())
			}
		},
	}
}

// checkAppFlags validates what app add was given, naming the argument or
// flag at fault, before the store is opened.
func checkAppFlags(a model.App, version, code string) error {
	if err := model.ValidateID("ACCOUNT", a.Account); err != nil {
		return fieldError(err)
	}
	if err := model.ValidateID("APP", a.ID); err != nil {
		return fieldError(err)
	}
	switch a.Platform {
	case model.PlatformAndroid:
		if a.TeamID != "" {
			return usagef("--team-id: only ios apps have a team id")
		}
	case model.PlatformIOS:
		if a.TeamID == "" {
			return usagef("--team-id: required for an ios app (the Apple Team ID)")
		}
		if err := model.ValidateID("--team-id", a.TeamID); err != nil {
			return fieldError(err)
		}
	case "":
		return usagef("--platform: required (android or ios)")
	default:
		return usagef("--platform: must be android or ios, not %q", a.Platform)
	}
	if len(a.Signers) == 0 {
		return usagef("--signer: required (the SHA-256 digest of the signing certificate)")
	}
	if err := checkVersion(version, code); err != nil {
		return err
	}
	switch a.Policy.AndroidMinSecurity {
	case "", model.SecuritySoftware, model.SecurityTEE, model.SecurityStrongBox:
	default:
		return usagef("--android-min-security: must be software, tee or strongbox, not %q", a.Policy.AndroidMinSecurity)
	}
	return nil
}

func checkVersion(version, code string) error {
	if version == "" {
		return usagef("--version: required (the version name the app reports)")
	}
	if len(version) > model.MaxIDLen {
		return usagef("--version: longer than %d characters", model.MaxIDLen)
	}
	if code == "" {
		return usagef("--code-digest: required (the code digest of --version)")
	}
	return nil
}

func runAppAdd(ctx context.Context, r *runner, a model.App, version, code string) error {
	if err := checkAppFlags(a, version, code); err != nil {
		return err
	}
	a.Versions = map[string]string{version: code}
	_, seal, err := r.open(ctx)
	if err != nil {
		return err
	}
	rev, err := r.update(ctx, state.AddApp(seal, r.cfg.Rand, a))
	if err != nil {
		return err
	}
	r.say("app %s registered under account %s: %s, %d signer(s), version %s (revision %d)",
		a.ID, a.Account, a.Platform, len(a.Signers), version, rev)
	try := []string{"try", "--app", a.ID, "--platform", a.Platform, "--signer", a.Signers[0], "--version", version, "--code-digest", code}
	if a.Policy.RequirePlatformAttestation {
		r.say("its policy requires platform attestation: try (which has no hardware evidence) gets platform_attestation_missing")
	}
	r.say("attest it as the app would, against a running node: %s", r.ctlHint(try...))
	return nil
}

func appVersionAddCommand() *command {
	return &command{
		name:    "app version add",
		args:    "ACCOUNT APP VERSION --code-digest DIGEST",
		summary: "register a new version of an app with its code digest",
		help: `Registers VERSION (the version name the SDK reports) of APP, an app of
ACCOUNT, with its code digest (32 bytes in b64u, base64 or hex; see
docs/app-registration.md). Keep old versions registered while devices still
run them. A version registered with another digest is refused (remove it
first); the same digest again changes nothing.`,
		minArgs: 3, maxArgs: 3,
		setup: func(fs *flag.FlagSet) action {
			code := &digestFlag{}
			fs.Var(code, "code-digest", "the code `DIGEST` of VERSION (32 bytes)")
			return func(ctx context.Context, r *runner, args []string) error {
				if err := checkVersion(args[2], code.value()); err != nil {
					return err
				}
				return r.mutate(ctx, func(seal state.Sealer) state.Mutation {
					return state.AddAppVersion(seal, args[0], args[1], args[2], code.value())
				}, "version %s of app %s is registered", args[2], args[1])
			}
		},
	}
}

func appVersionRemoveCommand() *command {
	return &command{
		name:    "app version remove",
		args:    "ACCOUNT APP VERSION",
		summary: "unregister a version of an app (its attests then fail version_unknown)",
		help: `Unregisters VERSION of APP, an app of ACCOUNT: within 2 seconds its attests
fail with version_unknown. The app's only version cannot be removed (remove
the app with 'app remove').`,
		minArgs: 3, maxArgs: 3,
		setup: func(*flag.FlagSet) action {
			return func(ctx context.Context, r *runner, args []string) error {
				return r.mutate(ctx, func(seal state.Sealer) state.Mutation {
					return state.RemoveAppVersion(seal, args[0], args[1], args[2])
				}, "version %s of app %s is no longer registered", args[2], args[1])
			}
		},
	}
}
