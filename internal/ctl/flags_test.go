package ctl

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"slices"
	"strings"
	"testing"
)

// dashDID is a device id (b64u of a SHA-256) that starts with "-", as one
// in 64 does.
func dashDID(t *testing.T) string {
	t.Helper()
	for i := 0; ; i++ {
		if d := digestB64u(fmt.Sprint("device-", i)); d[0] == '-' && d[1] != '-' {
			return d
		}
	}
}

// parseFor parses args as run does for the command named name.
func parseFor(t *testing.T, name string, args ...string) ([]string, *globals, error) {
	t.Helper()
	cmd, rest := lookup(commands(), strings.Fields(name))
	if cmd == nil || len(rest) > 0 {
		t.Fatalf("no command %q", name)
	}
	fs := newFlagSet("attestctl " + cmd.name)
	g := &globals{}
	g.defaults()
	g.register(fs)
	cmd.setup(fs)
	pos, err := parseInterspersed(cmd, fs, args)
	return pos, g, err
}

func TestParseDashPositional(t *testing.T) {
	did := dashDID(t)
	for _, tc := range []struct {
		cmd  string
		args []string
		want []string // nil: an error is wanted
		err  string   // what the error says
	}{
		{"ban add", []string{did}, []string{did}, ""},
		{"ban remove", []string{did}, []string{did}, ""},
		{"ban add", []string{"--" + did}, []string{"--" + did}, ""},
		{"ban add", []string{"---" + did}, []string{"---" + did}, ""},
		{"ban add", []string{"-hx"}, []string{"-hx"}, ""},
		{"ban add", []string{"--", did}, []string{did}, ""},
		{"ban remove", []string{"--", did}, []string{did}, ""},
		{"ban add", []string{"--store", "file:///s", did, "--timeout", "5s"}, []string{did}, ""},
		{"ban add", []string{did, "--", "x"}, nil, "flag provided but not defined: " + did},
		{"ban add", []string{"--reson", "spam", digestB64u("d")}, nil, "flag provided but not defined: -reson"},
		{"ban add", []string{digestB64u("d"), "--reson"}, nil, "flag provided but not defined: -reson"},
		{"ban add", []string{"--reson", "spam", did}, nil, "flag provided but not defined: -reson"},
		{"ban add", []string{digestB64u("d"), did}, nil, "flag provided but not defined: " + did},
		{"export", []string{"--bogus"}, nil, "flag provided but not defined: -bogus"},
		{"export", []string{"---x"}, nil, "bad flag syntax: ---x"},
		{"deployment show", []string{"-x"}, nil, "flag provided but not defined: -x"},
		{"key activate", []string{"acme", "-k1"}, []string{"acme", "-k1"}, ""},
		{"key add", []string{"-acme", "--alg", "ES256"}, []string{"-acme"}, ""},
		{"key add", []string{"acme", "--alg"}, nil, "flag needs an argument: -alg"},
		{"key add", []string{"acme", "--alg=ES256", "--kid", "-k"}, []string{"acme"}, ""},
		// any number of FILEs: only the three required may start with "-"
		{"pin add", []string{"-a", "-h.example", "-f.pem"}, []string{"-a", "-h.example", "-f.pem"}, ""},
		{"pin add", []string{"acme", "host", "f.pem", "--forse"}, nil, "flag provided but not defined: -forse"},
		{"pin add", []string{"acme", "host", "f.pem", "--force", "--", "-g.pem"}, []string{"acme", "host", "f.pem", "-g.pem"}, ""},
		{"pin remove", []string{"acme", "host", "-pin", "--force=true"}, []string{"acme", "host", "-pin"}, ""},
	} {
		pos, _, err := parseFor(t, tc.cmd, tc.args...)
		name := tc.cmd + " " + strings.Join(tc.args, " ")
		switch {
		case tc.want == nil && err == nil:
			t.Errorf("%s: positionals %q, want an error %q", name, pos, tc.err)
		case tc.want == nil && err.Error() != tc.err:
			t.Errorf("%s: error %q, want %q", name, err, tc.err)
		case tc.want != nil && err != nil:
			t.Errorf("%s: %v", name, err)
		case tc.want != nil && !slices.Equal(pos, tc.want):
			t.Errorf("%s: positionals %q, want %q", name, pos, tc.want)
		}
	}
}

func TestParseFlagsStillApply(t *testing.T) {
	did := dashDID(t)
	pos, g, err := parseFor(t, "ban add", "--timeout", "7s", did, "--store=file:///s")
	if err != nil || !slices.Equal(pos, []string{did}) || g.timeout.String() != "7s" || g.storeURL != "file:///s" {
		t.Errorf("positionals %q, timeout %v, store %q, err %v", pos, g.timeout, g.storeURL, err)
	}
	for _, h := range []string{"-h", "--help", "-help", "--h"} {
		for _, name := range []string{"ban add", "ban remove", "export", "pin add"} {
			if _, _, err := parseFor(t, name, h); !errors.Is(err, flag.ErrHelp) {
				t.Errorf("%s %s: %v, want help", name, h, err)
			}
		}
	}
	if _, _, err := parseFor(t, "ban add", did, "-h"); !errors.Is(err, flag.ErrHelp) {
		t.Errorf("ban add DID -h: %v, want help", err)
	}
}

// TestParseEveryDID: whatever its first characters, a device id is the
// positional of ban add and ban remove.
func TestParseEveryDID(t *testing.T) {
	seen := 0
	for i := 0; i < 4096; i++ {
		var b [32]byte
		rand.Read(b[:])
		did := base64.RawURLEncoding.EncodeToString(b[:])
		if i < 64 { // make sure the runs of dashes are covered
			did = strings.Repeat("-", i%4) + did[i%4:]
		}
		if did[0] == '-' {
			seen++
		}
		for _, cmd := range []string{"ban add", "ban remove"} {
			if pos, _, err := parseFor(t, cmd, did); err != nil || !slices.Equal(pos, []string{did}) {
				t.Fatalf("%s %s: %q, %v", cmd, did, pos, err)
			}
		}
	}
	if seen < 48 {
		t.Errorf("only %d ids started with -", seen)
	}
}

// TestBanDashDID runs ban add and ban remove through Main with a device id
// that starts with "-", and checks that a mistyped flag is still refused.
func TestBanDashDID(t *testing.T) {
	e := newEnv(t)
	e.ok("init")
	did := dashDID(t)
	if r := e.ok("ban", "add", did); !strings.Contains(r.stdout, "device "+did+" is banned") {
		t.Errorf("ban add said %q", r.stdout)
	}
	if out := e.ok("list", "bans").stdout; !strings.Contains(out, did) {
		t.Fatalf("bans: %s", out)
	}
	e.ok("ban", "remove", did)
	e.fail(ExitFailure, []string{"ban", "remove", did}, "not banned")
	// "--" still works, with the global flags after the command too.
	e.ok("ban", "add", "--timeout", "10s", "--", did)
	e.ok("ban", "remove", did, "--timeout", "10s")
	if out := e.ok("list", "bans").stdout; strings.Contains(out, did) {
		t.Fatalf("bans after remove: %s", out)
	}
	before := e.stateBytes()
	e.fail(ExitUsage, []string{"ban", "add", "--reson", "spam", did}, "flag provided but not defined: -reson", "usage: attestctl ban add")
	e.fail(ExitUsage, []string{"ban", "add", did, "extra"}, "usage: attestctl ban add")
	e.fail(ExitUsage, []string{"export", "--reveal-secret"}, "flag provided but not defined: -reveal-secret")
	e.fail(ExitUsage, []string{"deployment", "show", did}, "flag provided but not defined: "+did)
	if r := e.run("ban", "add", "-h"); r.code != ExitOK || !strings.Contains(r.stdout, "usage: attestctl ban add DID") {
		t.Errorf("ban add -h: %d %q", r.code, r.stdout)
	}
	if r := e.run("ban", "remove", did, "--help"); r.code != ExitOK || !strings.Contains(r.stdout, "usage: attestctl ban remove DID") {
		t.Errorf("ban remove DID --help: %d %q", r.code, r.stdout)
	}
	if string(before) != string(e.stateBytes()) {
		t.Error("a refused command wrote the store")
	}
}
