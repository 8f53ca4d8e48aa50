package h3e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// attestdBin is the daemon binary the signal tests run, built once by
// TestMain with `go build` (without -race: the race-enabled in-process
// tests cover the same code).
var attestdBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "attestd-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	attestdBin = filepath.Join(dir, "attestd")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	out, err := exec.CommandContext(ctx, "go", "build", "-o", attestdBin, "github.com/attestd/attestd/cmd/attestd").CombinedOutput()
	cancel()
	if err != nil {
		fmt.Fprintf(os.Stderr, "go build attestd: %v\n%s", err, out)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// proc is a running attestd binary with a systemd notify socket of its own.
type proc struct {
	cmd    *exec.Cmd
	notes  chan string // NOTIFY_SOCKET datagrams
	logs   chan map[string]any
	addrs  map[string]string // from the "attestd serving" line
	done   chan struct{}     // closed when the process exited
	code   int
	mu     sync.Mutex
	stderr strings.Builder
}

// spec is how to run attestd.
type spec struct {
	Args []string
	Env  []string
	// Activate passes Files as systemd socket activation does (LISTEN_FDS,
	// LISTEN_FDNAMES, and LISTEN_PID set to the daemon's own pid by a
	// shell that then execs it), named by Names.
	Files []*os.File
	Names []string
}

// startProc runs attestd (with --log-format json); it returns once the
// daemon sent READY=1 and logged its addresses.
func startProc(t *testing.T, sp spec) *proc {
	t.Helper()
	sockPath := filepath.Join(t.TempDir(), "notify.sock")
	ns, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sockPath, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ns.Close() })
	p := &proc{notes: make(chan string, 64), logs: make(chan map[string]any, 1024), done: make(chan struct{})}
	go func() {
		buf := make([]byte, 4096)
		for {
			n, _, err := ns.ReadFromUnix(buf)
			if err != nil {
				return
			}
			p.notes <- string(buf[:n])
		}
	}()
	args := append([]string{"--log-format", "json"}, sp.Args...)
	p.cmd = exec.Command(attestdBin, args...)
	p.cmd.Env = append(append(os.Environ(), "NOTIFY_SOCKET="+sockPath), sp.Env...)
	if len(sp.Files) > 0 {
		script := fmt.Sprintf(`LISTEN_PID=$$ LISTEN_FDS=%d LISTEN_FDNAMES=%s exec "$0" "$@"`, len(sp.Files), strings.Join(sp.Names, ":"))
		p.cmd = exec.Command("/bin/sh", append([]string{"-c", script, attestdBin}, args...)...)
		p.cmd.Env = append(append(os.Environ(), "NOTIFY_SOCKET="+sockPath), sp.Env...)
		p.cmd.ExtraFiles = sp.Files
	}
	se, err := p.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	p.cmd.Stdout = io.Discard
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go p.readLogs(t, se)
	go func() {
		_ = p.cmd.Wait()
		p.code = p.cmd.ProcessState.ExitCode()
		close(p.done)
	}()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			_ = p.cmd.Process.Kill()
			<-p.done
		}
		if t.Failed() {
			t.Logf("attestd stderr:\n%s", p.stderrText())
		}
	})
	p.waitNote(t, "READY=1", 30*time.Second)
	p.addrs = p.waitLog(t, "attestd serving", 5*time.Second)
	return p
}

func (p *proc) readLogs(t *testing.T, r io.Reader) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		p.mu.Lock()
		p.stderr.WriteString(line + "\n")
		p.mu.Unlock()
		var m map[string]any
		if json.Unmarshal([]byte(line), &m) == nil {
			select {
			case p.logs <- m:
			default:
			}
		}
	}
}

func (p *proc) stderrText() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stderr.String()
}

// waitNote waits for a notify datagram containing want; it returns it.
func (p *proc) waitNote(t *testing.T, want string, d time.Duration) string {
	t.Helper()
	deadline := time.After(d)
	for {
		select {
		case n := <-p.notes:
			if strings.Contains(n, want) {
				return n
			}
		case <-deadline:
			t.Fatalf("no %s from attestd within %v\n%s", want, d, p.stderrText())
		}
	}
}

// waitLog waits for a log record with message msg, with its fields as strings.
func (p *proc) waitLog(t *testing.T, msg string, d time.Duration) map[string]string {
	t.Helper()
	deadline := time.After(d)
	for {
		select {
		case m := <-p.logs:
			if m["msg"] == msg {
				out := map[string]string{}
				for k, v := range m {
					out[k] = fmt.Sprint(v)
				}
				return out
			}
		case <-deadline:
			t.Fatalf("no log %q from attestd within %v\n%s", msg, d, p.stderrText())
		}
	}
}

// wait waits for the process to exit and returns its exit code.
func (p *proc) wait(t *testing.T, d time.Duration) int {
	t.Helper()
	select {
	case <-p.done:
		return p.code
	case <-time.After(d):
		t.Fatalf("attestd did not exit within %v\n%s", d, p.stderrText())
		return -1
	}
}
