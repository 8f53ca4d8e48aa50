package ctl

import (
	"slices"
	"strings"
	"testing"
)

// FuzzParseArgs: the command-line parser never panics, whatever the
// words; a word that is not a flag is kept as it was; and everything after
// the first "--" is positional, verbatim, in order.
func FuzzParseArgs(f *testing.F) {
	for _, s := range []string{
		"-GJQIg38\x00--reason\x00spam",
		"--\x00-x\x00--y",
		"--store\x00file:///s\x00did\x00--timeout\x005s",
		"-h",
		"---x",
		"--reason=",
		"-",
		"",
	} {
		f.Add("ban add", s)
		f.Add("pin add", s)
		f.Add("export", s)
	}
	f.Fuzz(func(t *testing.T, name, joined string) {
		cmd, rest := lookup(commands(), strings.Fields(name))
		if cmd == nil || len(rest) > 0 {
			return
		}
		args := strings.Split(joined, "\x00")
		fs := newFlagSet("attestctl " + cmd.name)
		g := &globals{}
		g.defaults()
		g.register(fs)
		cmd.setup(fs)
		pos, err := parseInterspersed(cmd, fs, args)
		if err != nil {
			return
		}
		for _, p := range pos {
			if !slices.Contains(args, p) {
				t.Fatalf("positional %q is not one of the words %q", p, args)
			}
		}
		if i := slices.Index(args, "--"); i >= 0 {
			tail := args[i+1:]
			if len(pos) < len(tail) || !slices.Equal(pos[len(pos)-len(tail):], tail) {
				t.Fatalf("after --: positionals %q, want them to end with %q", pos, tail)
			}
		}
	})
}
