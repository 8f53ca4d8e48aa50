package ctl

import (
	"flag"
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
}

func (g *globals) defaults() {
	g.storeURL = open.DefaultURL
	g.timeout = DefaultTimeout
}

func (g *globals) register(fs *flag.FlagSet) {
	fs.StringVar(&g.storeURL, "store", g.storeURL, "store `URL`: file:///path/to/dir or etcd://host:port/prefix")
	fs.StringVar(&g.masterKey, "master-key", g.masterKey, "master key `FILE` (default: the store's own, created on first use)")
	fs.DurationVar(&g.timeout, "timeout", g.timeout, "give up on the store after this `duration`")
	g.etcd.RegisterFlags(fs)
}

func newFlagSet(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard) // errors are reported by the caller, help by writeCommandHelp
	return fs
}

// parseInterspersed parses flags wherever they appear among the positional
// arguments (`key add acme --alg ES256`); after "--" all are positional.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if used := len(args) - len(rest); used > 0 && args[used-1] == "--" {
			return append(pos, rest...), nil
		}
		if len(rest) == 0 {
			return pos, nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
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
