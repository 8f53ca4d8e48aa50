package ctl

import (
	"flag"
	"sort"
	"strings"

	"github.com/attestd/attestd/internal/hint"
)

// Hints are the commands attestctl prints for the user to run next. Each
// is built here, from the flags this invocation was given, so that it can
// be pasted as it is: it acts on the same store (--store, --master-key,
// --etcd-*, --timeout, as given) and every word is quoted for a POSIX
// shell (package hint).

// program is how the user runs attestctl: Config.Program, else as this
// process was started (hint.Program).
func (r *runner) program() string {
	if r.cfg.Program != "" {
		return r.cfg.Program
	}
	return hint.Program("attestctl")
}

// daemonProgram is how the user runs attestd beside this attestctl: "go
// run ./cmd/attestd" from a source tree, attestd otherwise.
func (r *runner) daemonProgram() string {
	p := r.program()
	if base, ok := strings.CutSuffix(p, "attestctl"); ok {
		return base + "attestd"
	}
	return "attestd"
}

// storeArgs are the global flags given on the command line, as words in
// a fixed order (--store, --master-key, then the others by name). A flag
// left at its default is not repeated: the hint gets the same default.
// With daemon set, only the flags attestd shares with attestctl (not
// --timeout).
func (r *runner) storeArgs(daemon bool) []string {
	var names []string
	for n := range r.g.given {
		if daemon && n == "timeout" {
			continue
		}
		names = append(names, n)
	}
	rank := func(n string) int {
		switch n {
		case "store":
			return 0
		case "master-key":
			return 1
		}
		return 2
	}
	sort.Slice(names, func(i, j int) bool {
		if a, b := rank(names[i]), rank(names[j]); a != b {
			return a < b
		}
		return names[i] < names[j]
	})
	var words []string
	for _, n := range names {
		v := r.g.given[n]
		if isBoolFlag(n) {
			if v == "true" {
				words = append(words, "--"+n)
			}
			continue
		}
		words = append(words, "--"+n, v)
	}
	return words
}

func isBoolFlag(name string) bool {
	var g globals
	fs := flag.NewFlagSet("", flag.ContinueOnError)
	g.register(fs)
	f := fs.Lookup(name)
	if f == nil {
		return false
	}
	bf, ok := f.Value.(interface{ IsBoolFlag() bool })
	return ok && bf.IsBoolFlag()
}

// ctlHint is the attestctl command line that runs args on this store.
func (r *runner) ctlHint(args ...string) string {
	return hint.Command(r.program(), append(r.storeArgs(false), args...)...)
}

// daemonHint is the attestd command line that serves this store.
func (r *runner) daemonHint(args ...string) string {
	return hint.Command(r.daemonProgram(), append(r.storeArgs(true), args...)...)
}

// plainHint is an attestctl command line that needs no store (help, try).
func (r *runner) plainHint(args ...string) string {
	return hint.Command(r.program(), args...)
}
