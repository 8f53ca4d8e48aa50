// Package logbuf is a log sink for tests: what a node (or any goroutines)
// writes, read or waited on by the test. It imports only the standard
// library, so that any package's own tests may use it (internal/testenv
// imports the daemon, which the daemon's and its parts' tests cannot).
package logbuf

import (
	"bytes"
	"strings"
	"sync"
	"testing"
	"time"
)

// Buffer is a log sink a test may read (String), or wait on (WaitFor),
// while a node writes to it. The zero value is empty and ready.
type Buffer struct {
	mu   sync.Mutex
	b    bytes.Buffer
	grew chan struct{} // closed by the next Write, when a waiter made it
}

func (s *Buffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.grew != nil {
		close(s.grew)
		s.grew = nil
	}
	return s.b.Write(p)
}

// WaitFor waits until the buffer holds want, woken by each write, for at
// most within; it returns what the buffer holds then, or fails the test.
func (s *Buffer) WaitFor(t testing.TB, within time.Duration, want string) string {
	t.Helper()
	deadline := time.NewTimer(within)
	defer deadline.Stop()
	for {
		s.mu.Lock()
		held := s.b.String()
		if s.grew == nil {
			s.grew = make(chan struct{})
		}
		grew := s.grew
		s.mu.Unlock()
		if strings.Contains(held, want) {
			return held
		}
		select {
		case <-grew:
		case <-deadline.C:
			t.Fatalf("%q not written within %v; got:\n%s", want, within, s.String())
		}
	}
}

func (s *Buffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
