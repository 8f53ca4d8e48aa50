package ctl

import (
	"errors"
	"flag"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/attestd/attestd/internal/hint"
	"github.com/attestd/attestd/internal/recordauth"
	"github.com/attestd/attestd/store/open"
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
// --timeout). The flags named in skip are left out.
func (r *runner) storeArgs(daemon bool, skip ...string) []string {
	var names []string
	for n := range r.g.given {
		if daemon && n == "timeout" || slices.Contains(skip, n) {
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

// withHints ends err, from command cmdName, with the command that mends
// it, when there is one, on the store this invocation named: for an etcd
// store without its master key file, the init that writes one
// (open.KeyFileError.Hint); for a store written before attestd 1.1,
// store authenticate; for other records that do not verify, store verify.
func (r *runner) withHints(cmdName string, err error) error {
	var kf *open.KeyFileError
	var bad *recordauth.Error
	switch {
	case errors.As(err, &kf):
	case errors.Is(err, recordauth.ErrUnauthenticated) && cmdName != "store authenticate":
		return fmt.Errorf("%w; check the store, then tag its records with: %s", err, r.ctlHint("store", "authenticate"))
	case errors.As(err, &bad) && cmdName != "store verify":
		return fmt.Errorf("%w; see which records with: %s", err, r.ctlHint("store", "verify"))
	default:
		return err
	}
	return fmt.Errorf("%w; %s", err, kf.Hint(func(args ...string) string {
		return hint.Command(r.program(), append(r.storeArgs(false, "master-key"), args...)...)
	}))
}
