package etcde2e

import (
	"bytes"
	"cmp"
	"context"
	"crypto/rand"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/attestd/attestd/crypto/envelope"
	"github.com/attestd/attestd/daemon"
	"github.com/attestd/attestd/internal/ctl"
	"github.com/attestd/attestd/internal/etcdtest"
	"github.com/attestd/attestd/internal/testenv/logbuf"
	"github.com/attestd/attestd/internal/testenv/poll"
	"github.com/attestd/attestd/internal/try"
	"github.com/attestd/attestd/store/open"
)

// shellWords has /bin/sh split a printed command, as a user's shell would.
func shellWords(t *testing.T, line string) []string {
	t.Helper()
	b, err := exec.Command("/bin/sh", "-c", "for w in "+line+"; do printf '%s\\0' \"$w\"; done").Output()
	if err != nil {
		t.Fatal(err)
	}
	w := strings.Split(string(b), "\x00")
	return w[:len(w)-1]
}

// attestctl runs attestctl (try built in) with exactly args.
func attestctl(args ...string) (stdout, stderr string, code int) {
	var out, errb bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	code = ctl.Config{Try: try.Main, Program: "attestctl"}.Main(ctx, args, strings.NewReader(""), &out, &errb)
	return out.String(), errb.String(), code
}

// line returns the first line of out that starts with prefix (after
// indentation).
func line(t *testing.T, out, prefix string) string {
	t.Helper()
	for _, l := range strings.Split(out, "\n") {
		if l = strings.TrimSpace(l); strings.HasPrefix(l, prefix) {
			return l
		}
	}
	t.Fatalf("no line starting %q in:\n%s", prefix, out)
	return ""
}

// TestEtcdHintsRunAsPrinted is the etcd path of a new user's first hour,
// by the commands attestctl prints: on an empty prefix attestctl refuses
// (export used to print {} and exit 0) and prints the init command with
// the --master-key it was given; init --demo prints the attestd command
// (it used to lack --master-key) and the try command; a node started from
// the first serves, and the second, pasted, passes. When etcd goes away
// and comes back, the node logs "store degraded" and then "store resumed".
func TestEtcdHintsRunAsPrinted(t *testing.T) {
	c := etcdtest.Start(t, etcdtest.Options{Members: 1})
	kf, err := envelope.NewKeyFile(open.MasterKeyID, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	key := filepath.Join(t.TempDir(), "master key")
	if err := os.WriteFile(key, kf, 0o600); err != nil {
		t.Fatal(err)
	}
	url := c.URL("hints")
	out, errs, code := attestctl("--store", url, "--master-key", key, "export")
	if code != ctl.ExitFailure || out != "" || !strings.Contains(errs, "no store at "+url) {
		t.Fatalf("export of an empty prefix: exit %d, %q, %q", code, out, errs)
	}
	initHint := strings.TrimSpace(errs[strings.Index(errs, "create this one with: ")+len("create this one with: "):])
	if w := shellWords(t, initHint); strings.Join(w, " ") != "attestctl --store "+url+" --master-key "+key+" init" {
		t.Fatalf("init hint %q", initHint)
	}
	out, errs, code = attestctl(append(shellWords(t, initHint)[1:], "--demo")...)
	if code != 0 {
		t.Fatalf("init --demo: %d %s", code, errs)
	}
	serve := shellWords(t, line(t, out, "attestd "))
	tryWords := shellWords(t, line(t, out, "attestctl try"))
	if strings.Join(serve, " ") != "attestd --store "+url+" --master-key "+key {
		t.Fatalf("serve hint %q", serve)
	}

	// The node, as the hint starts it (on ports of its own, its snapshot
	// in a state directory of its own, as under systemd).
	stateDir := t.TempDir()
	l, err := daemon.LoadFlags(daemon.Sources{Args: append(serve[1:], "--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0"),
		LookupEnv: func(k string) (string, bool) {
			if k == "STATE_DIRECTORY" {
				return stateDir, true
			}
			return "", false
		}})
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := l.Flags.Validate()
	if err != nil {
		t.Fatal(err)
	}
	logs := &logbuf.Buffer{}
	ctx, cancel := context.WithCancel(context.Background())
	d, err := daemon.New(ctx, cfg, daemon.Options{Stderr: logs})
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	defer func() { cancel(); <-done }()
	out, errs, code = attestctl(append(tryWords[1:], "--url", "http://"+d.Addr().String())...)
	if code != 0 || !strings.Contains(out, "verdict: PASSED") {
		t.Fatalf("pasted try: exit %d\n%s\n%s", code, out, errs)
	}

	c.KillAll()
	poll.Until(t, 30*time.Second, "store degraded logged", func() bool { return strings.Contains(logs.String(), "store degraded") })
	if err := c.StartAll(); err != nil {
		t.Fatal(err)
	}
	poll.Until(t, 30*time.Second, "store resumed logged", func() bool { return strings.Contains(logs.String(), "store resumed") })
	t.Logf("node log:\n%s", logs.String())
}

// TestEtcdMissingKeyHintRunsAsPrinted: attestctl and attestd on an etcd
// store without its master key file (none given, or one that is not
// there) print the command that makes one; pasted as printed, it writes
// the key file and initialises THAT etcd store, and a node given the file
// serves it. The hint used to read 'attestctl init --new-master-key
// FILE', which, pasted, initialises a file store in ./attestd-data.
func TestEtcdMissingKeyHintRunsAsPrinted(t *testing.T) {
	c := etcdtest.Start(t, etcdtest.Options{Members: 1})
	cli := c.Client(t)
	keys := t.TempDir()
	for i, tc := range []struct {
		name string
		node bool   // attestd's start error, else attestctl's
		key  string // --master-key given ("": none)
	}{
		{"attestctl, no --master-key", false, ""},
		{"attestctl, a key file that is not there", false, filepath.Join(keys, "ctl key")},
		{"attestd, no --master-key", true, ""},
		{"attestd, a key file that is not there", true, filepath.Join(keys, "node key")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			work := t.TempDir()
			t.Chdir(work) // where a pasted hint runs (its default key file is ./master.key)
			prefix := "missingkey" + strconv.Itoa(i)
			url := c.URL(prefix)
			args := []string{"--store", url}
			if tc.key != "" {
				args = append(args, "--master-key", tc.key)
			}
			var msg string
			if tc.node {
				_, err := startNode(t, args)
				if err == nil {
					t.Fatal("a node started on an etcd store without its master key")
				}
				msg = err.Error()
			} else {
				_, errs, code := attestctl(append(args, "export")...)
				if code == 0 {
					t.Fatal("export without the master key succeeded")
				}
				msg = errs
			}
			const marker = "): "
			words := shellWords(t, strings.TrimSpace(msg[strings.LastIndex(msg, marker)+len(marker):]))
			at := slices.Index(words, "--store")
			if at < 0 || !slices.Contains([]string{"attestctl", "go run ./cmd/attestctl"}, strings.Join(words[:at], " ")) {
				t.Fatalf("hint %q in %q does not run attestctl", words, msg)
			}
			keyFile := cmp.Or(tc.key, open.HintKeyFile)
			if want := []string{"--store", url, "init", "--new-master-key", keyFile}; !slices.Equal(words[at:], want) {
				t.Fatalf("hint %q, want attestctl %q", words, want)
			}
			if _, errs, code := attestctl(words[at:]...); code != 0 {
				t.Fatalf("the pasted hint failed: %s", errs)
			}
			if fi, err := os.Stat(keyFile); err != nil || fi.Mode().Perm() != 0o600 {
				t.Fatalf("key file %s: %v %v", keyFile, fi, err)
			}
			if _, err := os.Stat(filepath.Join(work, "attestd-data")); err == nil {
				t.Fatal("the pasted hint made a file store in the working directory")
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			resp, err := cli.Get(ctx, prefix+"/", clientv3.WithPrefix(), clientv3.WithCountOnly())
			if err != nil || resp.Count == 0 {
				t.Fatalf("etcd prefix %s after the pasted init: %v keys (%v)", prefix, resp, err)
			}
			stop, err := startNode(t, []string{"--store", url, "--master-key", keyFile})
			if err != nil {
				t.Fatalf("a node given the new key file: %v", err)
			}
			stop()
		})
	}
}

// startNode starts attestd with args (and loopback ports of its own);
// stop ends it.
func startNode(t *testing.T, args []string) (stop func(), err error) {
	t.Helper()
	l, err := daemon.LoadFlags(daemon.Sources{Args: append(args, "--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0"),
		LookupEnv: func(string) (string, bool) { return "", false }})
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := l.Flags.Validate()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	d, err := daemon.New(ctx, cfg, daemon.Options{Stderr: &logbuf.Buffer{}})
	if err != nil {
		cancel()
		return nil, err
	}
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	return func() { cancel(); <-done }, nil
}
