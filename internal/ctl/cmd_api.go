package ctl

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"strings"

	"github.com/attestd/attestd/internal/model"
	"github.com/attestd/attestd/internal/state"
)

func apiCommands() []*command {
	return []*command{{
		name:    "api put",
		args:    "ACCOUNT NAME --upstream URL --secret NAME (--header H | --query Q) [--require-binding] [--require-signature]",
		summary: "add or replace a proxied API of an account",
		help: `Apps reach the API through the edge at /v1/proxy/NAME/PATH with their
Attest-Token; the edge checks the token, injects the account's runtime
secret --secret as the header --header or the query parameter --query, and
forwards to --upstream (an absolute http or https URL) with /PATH appended.
With --require-binding the token must be bound to the request's
Authorization header; with --require-signature it must be bound to the
device key and every request signed with it. API names are unique in the
deployment.

A put replaces the API whole. It never turns a security setting off
unless told: replacing an API that has require_binding or
require_signature on without giving that flag is refused; give
--require-signature to keep it, or --require-signature=false to turn it
off (likewise --require-binding).`,
		minArgs: 2, maxArgs: 2,
		setup: func(fs *flag.FlagSet) action {
			upstream := fs.String("upstream", "", "absolute http or https `URL` of the upstream")
			sec := fs.String("secret", "", "the account's runtime secret to inject (its `NAME`)")
			header := fs.String("header", "", "inject the secret as this request header")
			query := fs.String("query", "", "inject the secret as this query parameter (replacing the client's)")
			binding := fs.Bool("require-binding", false, "tokens must be bound to the request's Authorization header (=false turns it off)")
			signature := fs.Bool("require-signature", false, "tokens must be bound to the device key and each request signed with it (=false turns it off)")
			return func(ctx context.Context, r *runner, args []string) error {
				api := model.API{Name: args[1], Upstream: *upstream, RequireBinding: *binding, RequireSignature: *signature,
					Inject: model.Inject{Header: *header, Query: *query, Secret: *sec}}
				var stated state.APIStated
				fs.Visit(func(f *flag.Flag) {
					stated.RequireBinding = stated.RequireBinding || f.Name == "require-binding"
					stated.RequireSignature = stated.RequireSignature || f.Name == "require-signature"
				})
				err := r.mutate(ctx, func(seal state.Sealer) state.Mutation {
					return state.PutAPI(seal, args[0], api, stated)
				}, "api %s of account %s now proxies to %s%s", args[1], args[0], *upstream, apiRequires(api))
				return unstatedHint(err)
			}
		},
	}, {
		name:    "api remove",
		args:    "ACCOUNT NAME",
		summary: "remove a proxied API of an account",
		help: `Within 2 seconds /v1/proxy/NAME/... answers not_found on every node. The
runtime secret it injected stays with the account.`,
		minArgs: 2, maxArgs: 2,
		setup: func(*flag.FlagSet) action {
			return func(ctx context.Context, r *runner, args []string) error {
				return r.mutate(ctx, func(seal state.Sealer) state.Mutation {
					return state.RemoveAPI(seal, args[0], args[1])
				}, "api %s of account %s removed", args[1], args[0])
			}
		},
	}, {
		name:    "api list",
		args:    "ACCOUNT",
		summary: "print an account's proxied APIs as JSON (never secret values)",
		help: `Prints each API's name, upstream, whether it requires binding
(require_binding) and request signatures (require_signature), and where it
injects which runtime secret (by name; never the value).`,
		minArgs: 1, maxArgs: 1,
		setup: func(*flag.FlagSet) action {
			return func(ctx context.Context, r *runner, args []string) error {
				a, err := r.account(ctx, args[0])
				if err != nil {
					return err
				}
				apis := make([]apiView, 0, len(a.APIs))
				for _, api := range a.APIs {
					apis = append(apis, apiView{Name: api.Name, Upstream: api.Upstream,
						RequireBinding: api.RequireBinding, RequireSignature: api.RequireSignature, Inject: api.Inject})
				}
				return r.printJSON(apis)
			}
		},
	}}
}

// apiView is an API as api list prints it: both security settings always
// shown, false included.
type apiView struct {
	Name             string       `json:"name"`
	Upstream         string       `json:"upstream"`
	RequireBinding   bool         `json:"require_binding"`
	RequireSignature bool         `json:"require_signature"`
	Inject           model.Inject `json:"inject"`
}

// apiRequires says which security settings api has on, for api put's
// report.
func apiRequires(api model.API) string {
	var on []string
	if api.RequireBinding {
		on = append(on, "require_binding")
	}
	if api.RequireSignature {
		on = append(on, "require_signature")
	}
	if len(on) == 0 {
		return " (no binding or signature required)"
	}
	return " (" + strings.Join(on, ", ") + ")"
}

// unstatedHint adds to a put refused for a security setting it did not
// state the flags that state it.
func unstatedHint(err error) error {
	var ue *state.UnstatedError
	if !errors.As(err, &ue) {
		return err
	}
	var keep, off []string
	for _, s := range ue.Settings {
		f := "--" + strings.ReplaceAll(s, "_", "-")
		keep, off = append(keep, f), append(off, f+"=false")
	}
	it := "it"
	if len(keep) > 1 {
		it = "them"
	}
	return fmt.Errorf("%w: give %s to keep %s, or %s to turn %[3]s off", err, strings.Join(keep, " "), it, strings.Join(off, " "))
}
