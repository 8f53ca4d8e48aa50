package ctl

import (
	"context"
	"flag"

	"github.com/attestd/attestd/internal/model"
	"github.com/attestd/attestd/internal/state"
)

func apiCommands() []*command {
	return []*command{{
		name:    "api put",
		args:    "ACCOUNT NAME --upstream URL --secret NAME (--header H | --query Q) [--require-binding]",
		summary: "add or replace a proxied API of an account",
		help: `Apps reach the API through the edge at /v1/proxy/NAME/PATH with their
Attest-Token; the edge checks the token, injects the account's runtime
secret --secret as the header --header or the query parameter --query, and
forwards to --upstream (an absolute http or https URL) with /PATH appended.
With --require-binding the token must be bound to the request's
Authorization header. API names are unique in the deployment.`,
		minArgs: 2, maxArgs: 2,
		setup: func(fs *flag.FlagSet) action {
			upstream := fs.String("upstream", "", "absolute http or https `URL` of the upstream")
			sec := fs.String("secret", "", "the account's runtime secret to inject (its `NAME`)")
			header := fs.String("header", "", "inject the secret as this request header")
			query := fs.String("query", "", "inject the secret as this query parameter (replacing the client's)")
			binding := fs.Bool("require-binding", false, "tokens must be bound to the request's Authorization header")
			return func(ctx context.Context, r *runner, args []string) error {
				api := model.API{Name: args[1], Upstream: *upstream, RequireBinding: *binding,
					Inject: model.Inject{Header: *header, Query: *query, Secret: *sec}}
				return r.mutate(ctx, func(seal state.Sealer) state.Mutation {
					return state.PutAPI(seal, args[0], api)
				}, "api %s of account %s now proxies to %s", args[1], args[0], *upstream)
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
		help: `Prints each API's name, upstream, whether it requires binding, and where it
injects which runtime secret (by name; never the value).`,
		minArgs: 1, maxArgs: 1,
		setup: func(*flag.FlagSet) action {
			return func(ctx context.Context, r *runner, args []string) error {
				a, err := r.account(ctx, args[0])
				if err != nil {
					return err
				}
				apis := a.APIs
				if apis == nil {
					apis = []model.API{}
				}
				return r.printJSON(apis)
			}
		},
	}}
}
