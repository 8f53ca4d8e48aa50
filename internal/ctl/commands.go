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
	name    string // one to three words
	args    string // synopsis of the arguments
	summary string // one line
	help    string // paragraphs for `attestctl help NAME`
	minArgs int
	maxArgs int // -1: no limit
	// setup registers the command's own flags on fs and returns the action
	// bound to them.
	setup func(fs *flag.FlagSet) action
	// createsStore: the command may create the store it names (init);
	// every other refuses a store that does not exist.
	createsStore bool
	// storeless: the command touches no store (master-key new), so none
	// is checked for.
	storeless bool
}

// commands lists every command, in the order help shows them.
func commands() []*command {
	var cs []*command
	for _, group := range [][]*command{
		initCommands(), bundleCommands(), readCommands(), registerCommands(), keyCommands(), keySecretCommands(),
		secretCommands(), pinCommands(), apiCommands(), playIntegrityCommands(), banCommands(), lifecycleCommands(),
		deploymentCommands(), masterKeyCommands(), storeCommands(), monitorCommands(),
	} {
		cs = append(cs, group...)
	}
	return cs
}

// lookup finds the command named by the first one to three words of args
// (the longest name that matches) and returns it with the remaining
// arguments.
func lookup(cs []*command, args []string) (*command, []string) {
	for n := min(3, len(args)); n >= 1; n-- {
		name := strings.Join(args[:n], " ")
		for _, c := range cs {
			if c.name == name {
				return c, args[n:]
			}
		}
	}
	return nil, nil
}

// group is a set of commands whose names begin with the same words ("key"
// for key add, key activate, ...).
type group struct {
	name     string
	commands []*command
}

// groupOf returns the group named by words (joined by spaces), or nil
// when no command name begins with them.
func groupOf(words ...string) *group {
	name := strings.Join(words, " ")
	g := &group{name: name}
	for _, c := range commands() {
		if strings.HasPrefix(c.name, name+" ") {
			g.commands = append(g.commands, c)
		}
	}
	if len(g.commands) == 0 {
		return nil
	}
	return g
}

// groups lists every group, in the order help shows commands.
func groups() []*group {
	var out []*group
	seen := map[string]bool{}
	for _, c := range commands() {
		w := strings.Fields(c.name)
		for n := 1; n < len(w); n++ {
			name := strings.Join(w[:n], " ")
			if !seen[name] {
				seen[name] = true
				out = append(out, groupOf(w[:n]...))
			}
		}
	}
	return out
}

// longestGroup is the group named by the most leading words of args, or
// nil.
func longestGroup(args []string) *group {
	for n := min(3, len(args)); n >= 1; n-- {
		if g := groupOf(args[:n]...); g != nil {
			return g
		}
	}
	return nil
}
