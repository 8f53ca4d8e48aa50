package h3e2e

import (
	"context"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/attestd/attestd/internal/testenv"
)

// TestSystemdUnitExposure rates systemd/attestd.service with
// `systemd-analyze security --offline=yes` and holds it at 2.0 or lower
// ("OK"). It skips only where systemd-analyze is absent and CI is unset.
func TestSystemdUnitExposure(t *testing.T) {
	bin := needBinary(t, "systemd-analyze", "systemd")
	unit, err := filepath.Abs("../../systemd/attestd.service")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, bin, "security", "--offline=yes", "--no-pager", unit).CombinedOutput()
	if err != nil {
		t.Fatalf("systemd-analyze security: %v\n%s", err, out)
	}
	m := regexp.MustCompile(`Overall exposure level for attestd\.service: ([0-9.]+) (\S+)`).FindSubmatch(out)
	if m == nil {
		t.Fatalf("no exposure level in:\n%s", out)
	}
	level, err := strconv.ParseFloat(string(m[1]), 64)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("systemd-analyze security: exposure %.1f %s", level, m[2])
	if level > 2.0 {
		t.Errorf("exposure level %.1f > 2.0:\n%s", level, out)
	}
}

// TestSocketActivation hands the daemon binary a bound TCP socket the way
// systemd does (LISTEN_FDS=1, LISTEN_FDNAMES=http, LISTEN_PID its own
// pid) and checks that it serves on it instead of binding --listen.
func TestSocketActivation(t *testing.T) {
	f := testenv.NewFixture(t)
	st := testenv.NewStore(t, f)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	file, err := ln.(*net.TCPListener).File()
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // the dup in file stays open and bound
	defer file.Close()
	p := startProc(t, spec{
		Args:  []string{"--store", st.URL, "--listen", "127.0.0.1:1", "--admin-listen", "127.0.0.1:0"},
		Files: []*os.File{file}, Names: []string{"http"},
	})
	if p.addrs["listen"] != addr {
		t.Errorf("serving on %s, want the activated socket %s", p.addrs["listen"], addr)
	}
	resp, err := http.Post("http://"+addr+"/v1/challenge", "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("challenge on the activated socket: %d", resp.StatusCode)
	}
}

// TestWatchdog runs the binary as systemd would with WatchdogSec= (here
// 0.4 s, WATCHDOG_USEC): it pets the watchdog (WATCHDOG=1) after each
// self-request through the real handler succeeds.
func TestWatchdog(t *testing.T) {
	f := testenv.NewFixture(t)
	st := testenv.NewStore(t, f)
	p := startProc(t, spec{
		Args: []string{"--store", st.URL, "--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0"},
		Env:  []string{"WATCHDOG_USEC=400000"},
	})
	for i := 0; i < 2; i++ {
		p.waitNote(t, "WATCHDOG=1", 3*time.Second)
	}
}
