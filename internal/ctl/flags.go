package ctl

import (
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/attestd/attestd/store/open"
)

// globals are the flags every command takes, before or after its name.
type globals struct {
	storeURL  string
	masterKey string
	timeout   time.Duration
	etcd      open.EtcdOptions
	// given holds the global flags set on the command line, by name, as
	// their values read back (hints repeat them: see storeArgs).
	given map[string]string
}

func (g *globals) defaults() {
	g.storeURL = open.DefaultURL
	g.timeout = DefaultTimeout
}

func (g *globals) register(fs *flag.FlagSet) {
	fs.StringVar(&g.storeURL, "store", g.storeURL, "store `URL`: file:///path/to/dir or etcd://host:port/prefix")
	fs.StringVar(&g.masterKey, "master-key", g.masterKey, "master key `FILE` (default: a file store's own master.key, which init creates)")
	fs.DurationVar(&g.timeout, "timeout", g.timeout, "give up on the store after this `duration`")
	g.etcd.RegisterFlags(fs)
}

// noteGiven records which of the global flags fs parsed were set.
func (g *globals) noteGiven(fs *flag.FlagSet) {
	fs.Visit(func(f *flag.Flag) {
		if !isGlobal(f.Name) {
			return
		}
		if g.given == nil {
			g.given = map[string]string{}
		}
		g.given[f.Name] = f.Value.String()
	})
}

// isGlobal reports whether name is a global flag.
func isGlobal(name string) bool {
	var g globals
	fs := newFlagSet("")
	g.register(fs)
	return fs.Lookup(name) != nil
}

func newFlagSet(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard) // errors are reported by the caller, help by writeCommandHelp
	return fs
}

// parseInterspersed parses cmd's flags wherever they appear among the
// positional arguments (`key add acme --alg ES256`); after "--" all are
// positional. A word that starts with "-" but names no flag of fs (a device
// id is base64url: one in 64 starts with "-") is a positional argument while
// cmd still has room for one (see positionalRoom); otherwise it is the flag
// error it always was. -h and --help ask for help unless a command defines
// them.
func parseInterspersed(cmd *command, fs *flag.FlagSet, args []string) ([]string, error) {
	return parseArgs(fs, args, cmd.positionalRoom())
}

// positionalRoom is how many positional arguments of c may start with "-":
// its maximum, or, when it takes any number, its minimum (the rest start
// with "-" only after "--").
func (c *command) positionalRoom() int {
	if c.maxArgs >= 0 {
		return c.maxArgs
	}
	return c.minArgs
}

// parseArgs is parseInterspersed with room positional arguments that may
// start with "-". When a word not naming a flag was taken as a positional
// and too many positionals follow, that word's flag error is returned: it
// was more likely a mistyped flag than a value.
func parseArgs(fs *flag.FlagSet, args []string, room int) ([]string, error) {
	var pos []string
	var adopted error // the flag error of the first word taken as positional
	for len(args) > 0 {
		a := args[0]
		if a == "--" {
			pos = append(pos, args[1:]...)
			break
		}
		if len(a) < 2 || a[0] != '-' {
			pos = append(pos, a)
			args = args[1:]
			continue
		}
		f, known := lookupFlag(fs, a)
		if !known {
			err := fs.Parse(args[:1]) // the error the flag package gives
			if err == nil {
				err = fmt.Errorf("flag provided but not defined: %s", a) // not reached
			}
			if len(pos) >= room {
				if adopted != nil {
					err = adopted
				}
				return nil, err
			}
			if adopted == nil {
				adopted = err
			}
			pos = append(pos, a)
			args = args[1:]
			continue
		}
		n := 1 // words the flag takes: itself, and its value unless -f=v or boolean (or help)
		if f != nil && !strings.Contains(a, "=") && len(args) > 1 {
			if bf, ok := f.Value.(interface{ IsBoolFlag() bool }); !ok || !bf.IsBoolFlag() {
				n = 2
			}
		}
		if err := fs.Parse(args[:n]); err != nil {
			return nil, err
		}
		args = args[n:]
	}
	if adopted != nil && len(pos) > room {
		return nil, adopted
	}
	return pos, nil
}

// lookupFlag finds the flag that a, a word starting with "-", names in
// fs. -h and -help (with one or two dashes) are known even when fs does
// not define them, with a nil flag: they ask for help.
func lookupFlag(fs *flag.FlagSet, a string) (*flag.Flag, bool) {
	name := strings.TrimPrefix(a[1:], "-")
	if name == "" || name[0] == '-' {
		return nil, false // "---x": bad flag syntax
	}
	name, _, _ = strings.Cut(name, "=")
	if f := fs.Lookup(name); f != nil {
		return f, true
	}
	return nil, name == "h" || name == "help"
}

// listFlag is a comma-separated list flag that remembers whether it was
// given (so "--apps ”" clears, and no --apps keeps).
type listFlag struct {
	set  bool
	vals []string
}

func (l *listFlag) String() string { return strings.Join(l.vals, ",") }

func (l *listFlag) Set(s string) error {
	l.set = true
	l.vals = []string{}
	for _, v := range strings.Split(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			l.vals = append(l.vals, v)
		}
	}
	return nil
}

// value is nil when the flag was not given.
func (l *listFlag) value() []string {
	if !l.set {
		return nil
	}
	return l.vals
}

func joinWords(args []string, n int) string {
	if len(args) > n {
		args = args[:n]
	}
	return strings.Join(args, " ")
}
