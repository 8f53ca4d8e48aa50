package etcdtest

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Member is one member of a Cluster. Its methods are safe for concurrent
// use.
type Member struct {
	spec memberSpec
	// Addr is the member's client address, host:port.
	Addr string

	mu   sync.Mutex
	proc *process // nil when not running
}

// Name is the member's name.
func (m *Member) Name() string { return m.spec.Name }

func (m *Member) logPath() string { return m.spec.Dir + ".log" }

type process struct {
	cmd *exec.Cmd
	// stdin is the write end of the member's standard input: when the
	// test process dies, however it dies, the member reads EOF and exits.
	stdin  *os.File
	exited chan struct{}
}

// Running reports whether the member's process runs.
func (m *Member) Running() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.proc == nil {
		return false
	}
	select {
	case <-m.proc.exited:
		return false
	default:
		return true
	}
}

// Start starts the member (on its data directory and ports) unless it
// runs, and waits until it serves, which needs a quorum of members.
func (m *Member) Start() error {
	if m.Running() {
		return nil
	}
	p, ready, err := m.spawn()
	if err != nil {
		return err
	}
	m.mu.Lock()
	m.proc = p
	m.mu.Unlock()
	select {
	case <-ready:
		return nil
	case <-p.exited:
		return fmt.Errorf("etcdtest: member %s exited before it was ready (does the package's TestMain call etcdtest.Main?): %s",
			m.spec.Name, tail(m.logPath()))
	case <-time.After(StartTimeout):
		m.Kill()
		return fmt.Errorf("etcdtest: member %s not ready after %v: %s", m.spec.Name, StartTimeout, tail(m.logPath()))
	}
}

func (m *Member) spawn() (*process, <-chan struct{}, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, nil, fmt.Errorf("etcdtest: %w", err)
	}
	spec, err := json.Marshal(m.spec)
	if err != nil {
		return nil, nil, fmt.Errorf("etcdtest: %w", err)
	}
	logf, err := os.OpenFile(m.logPath(), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, nil, fmt.Errorf("etcdtest: member log: %w", err)
	}
	defer logf.Close()
	outR, outW, err := os.Pipe()
	if err != nil {
		return nil, nil, fmt.Errorf("etcdtest: %w", err)
	}
	inR, inW, err := os.Pipe()
	if err != nil {
		outR.Close()
		outW.Close()
		return nil, nil, fmt.Errorf("etcdtest: %w", err)
	}
	// -test.run matches nothing: should Main not be wired, the child runs
	// no test and exits, and Start says why.
	cmd := exec.Command(exe, "-test.run=^$", "-test.count=1")
	cmd.Env = append(os.Environ(), envMember+"="+string(spec))
	cmd.Stdin, cmd.Stdout, cmd.Stderr = inR, outW, logf
	err = cmd.Start()
	inR.Close()
	outW.Close()
	if err != nil {
		outR.Close()
		inW.Close()
		return nil, nil, fmt.Errorf("etcdtest: start member %s: %w", m.spec.Name, err)
	}
	p := &process{cmd: cmd, stdin: inW, exited: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(p.exited) }()
	ready := make(chan struct{})
	go func() {
		defer outR.Close()
		sc := bufio.NewScanner(outR)
		for sc.Scan() {
			if sc.Text() == readyLine {
				close(ready)
				break
			}
		}
		for sc.Scan() { // drain whatever else it prints
		}
	}()
	return p, ready, nil
}

// Kill kills the member with SIGKILL (a crash) and waits for it to exit.
func (m *Member) Kill() {
	m.mu.Lock()
	p := m.proc
	m.proc = nil
	m.mu.Unlock()
	if p == nil {
		return
	}
	_ = p.cmd.Process.Kill()
	<-p.exited
	p.stdin.Close()
}

// Stop stops the member gracefully (SIGTERM; SIGKILL after 20 s).
func (m *Member) Stop() {
	m.mu.Lock()
	p := m.proc
	m.proc = nil
	m.mu.Unlock()
	if p == nil {
		return
	}
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		_ = p.cmd.Process.Kill()
	}
	select {
	case <-p.exited:
	case <-time.After(20 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.exited
	}
	p.stdin.Close()
}

// tail returns the end of a member's log, for error messages.
func tail(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return "(no log)"
	}
	s := strings.TrimSpace(string(b))
	if len(s) > 2000 {
		s = "…" + s[len(s)-2000:]
	}
	if s == "" {
		return "(empty log)"
	}
	return "log: " + s
}
