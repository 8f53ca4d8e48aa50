package try

import (
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/attestd/attestd/daemon"
	"github.com/attestd/attestd/internal/testenv/logbuf"
)

// TestDaemonBannerHintsRunAsPrinted: the commands attestd prints when it
// seeds the demo (run from a source tree: "go run ./cmd/attestctl ...")
// carry the node's own --store and address, and do what they say when
// pasted: try passes, export and help run on the node's store.
func TestDaemonBannerHintsRunAsPrinted(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "node store")
	f := daemon.DefaultFlags()
	f.Store, f.Listen, f.AdminListen, f.SeedDemo, f.LogLevel = "file://"+dir, "127.0.0.1:0", "127.0.0.1:0", true, "warn"
	cfg, err := f.Validate()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	out := &logbuf.Buffer{}
	d, err := daemon.New(ctx, cfg, daemon.Options{Stdout: out})
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	defer func() { cancel(); <-done }()
	out.WaitFor(t, 10*time.Second, "curl -s") // Run prints the banner as it starts
	const prog = "go run ./cmd/attestctl "
	var ran []string
	for _, line := range strings.Split(out.String(), "\n") {
		line = strings.TrimSpace(line)
		if !strings.HasPrefix(line, prog) {
			continue
		}
		words := sh(t, line)
		r := run(words[3:]...)
		if r.code != 0 {
			t.Errorf("%s: exit %d\n%s\n%s", line, r.code, r.stdout, r.stderr)
		}
		if words[3] == "try" && !strings.Contains(r.stdout, "verdict: PASSED") {
			t.Errorf("%s: %s", line, r.stdout)
		}
		ran = append(ran, words[3])
	}
	if strings.Join(ran, ",") != "try,--store,--store" {
		t.Fatalf("banner hints %v:\n%s", ran, out.String())
	}
}

func sh(t *testing.T, line string) []string {
	t.Helper()
	b, err := exec.Command("/bin/sh", "-c", "for w in "+line+"; do printf '%s\\0' \"$w\"; done").Output()
	if err != nil {
		t.Fatal(err)
	}
	w := strings.Split(string(b), "\x00")
	return w[:len(w)-1]
}
