// Package nodeinterop runs the scripts of interop/node: Node.js with npm
// packages that implement JOSE and HTTP message signatures independently
// of attestd, for the tests that check attestd against them. Without node
// or a package, a test skips, or fails when the environment variable CI is
// set (CI must run them: `npm ci` in interop/node).
//
// Only tests import it. It imports only the standard library, so that the
// tests of pure packages (verify/...) may use it.
package nodeinterop

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// RunTimeout bounds one run of a script.
const RunTimeout = 30 * time.Second

// Node is the node executable and the interop/node directory.
type Node struct {
	Path string // the node executable
	Dir  string // interop/node, absolute
}

// Find returns node and interop/node after checking that each of modules
// is installed there (node_modules/M/package.json). When node or a module
// is missing, t skips, or fails when CI is set.
func Find(t testing.TB, modules ...string) Node {
	t.Helper()
	missing := ""
	path, err := exec.LookPath("node")
	dir, derr := interopDir()
	switch {
	case err != nil:
		missing = "node is not on PATH"
	case derr != nil:
		missing = derr.Error()
	default:
		for _, m := range modules {
			if _, err := os.Stat(filepath.Join(dir, "node_modules", m, "package.json")); err != nil {
				missing = "interop/node/node_modules/" + m + " is missing (run npm ci in interop/node)"
				break
			}
		}
	}
	if missing != "" {
		if os.Getenv("CI") != "" {
			t.Fatalf("CI is set and %s", missing)
		}
		t.Skip(missing)
	}
	return Node{Path: path, Dir: dir}
}

// interopDir is interop/node of the module the test runs in: found from
// the working directory (the test's package directory) up to go.mod.
func interopDir() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return filepath.Join(dir, "interop", "node"), nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the test's directory")
		}
		dir = parent
	}
}

// Run runs script (a file of n.Dir) with in, encoded as JSON, on its
// standard input, within RunTimeout. ok is whether it exited 0; then its
// standard output is decoded as JSON into out (t fails if it is not).
// stderr is what it printed there. Failing to start node, or running
// past RunTimeout, fails t: neither is the script's refusal.
func (n Node) Run(t testing.TB, script string, in, out any) (stderr string, ok bool) {
	t.Helper()
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), RunTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, n.Path, script)
	cmd.Dir = n.Dir
	cmd.Stdin = bytes.NewReader(b)
	var so, se bytes.Buffer
	cmd.Stdout, cmd.Stderr = &so, &se
	if err := cmd.Run(); err != nil {
		var exit *exec.ExitError
		if !errors.As(err, &exit) || ctx.Err() != nil {
			// Not a refusal by the script: node did not start, or was
			// killed at the deadline.
			t.Fatalf("node %s: %v (%v)", script, err, ctx.Err())
		}
		return se.String(), false
	}
	if err := json.Unmarshal(so.Bytes(), out); err != nil {
		t.Fatalf("node %s printed %q: %v", script, so.String(), err)
	}
	return se.String(), true
}
