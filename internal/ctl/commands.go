package ctl

import (
	"context"
	"flag"
	"strings"
)

// action runs a command with its positional arguments.
type action func(ctx context.Context, r *runner, args []string) error

// command is one attestctl command ("import", "key add", ...).
type command struct {
	name    string // one or two words
	args    string // synopsis of the arguments
	summary string // one line
	help    string // paragraphs for `attestctl help NAME`
	minArgs int
	maxArgs int // -1: no limit
	// setup registers the command's own flags on fs and returns the action
	// bound to them.
	setup func(fs *flag.FlagSet) action
}

// commands lists every command, in the order help shows them.
func commands() []*command {
	var cs []*command
	for _, group := range [][]*command{
		initCommands(), bundleCommands(), readCommands(), keyCommands(),
		secretCommands(), pinCommands(), apiCommands(), playIntegrityCommands(), banCommands(), lifecycleCommands(),
		deploymentCommands(), masterKeyCommands(),
	} {
		cs = append(cs, group...)
	}
	return cs
}

// lookup finds the command named by the first one or two words of args
// and returns it with the remaining arguments.
func lookup(cs []*command, args []string) (*command, []string) {
	if len(args) == 0 {
		return nil, nil
	}
	if len(args) >= 2 {
		two := args[0] + " " + args[1]
		for _, c := range cs {
			if c.name == two {
				return c, args[2:]
			}
		}
	}
	for _, c := range cs {
		if c.name == args[0] && !strings.Contains(c.name, " ") {
			return c, args[1:]
		}
	}
	return nil, nil
}
