package backend

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/attestd/attestd/crypto/token"
)

// pipeListener is a net.Listener whose connections are net.Pipe ends, and
// dial makes them: a real HTTP server and client over it talk without the
// network, so that, in a synctest bubble, goroutines waiting on their
// connections count as blocked (loopback sockets would not).
type pipeListener struct {
	conns chan net.Conn
	done  chan struct{}
	once  sync.Once
}

func newPipeListener() *pipeListener {
	return &pipeListener{conns: make(chan net.Conn), done: make(chan struct{})}
}

func (l *pipeListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *pipeListener) Close() error {
	l.once.Do(func() { close(l.done) })
	return nil
}

func (l *pipeListener) Addr() net.Addr { return pipeAddr{} }

func (l *pipeListener) dial(ctx context.Context, _, _ string) (net.Conn, error) {
	client, server := net.Pipe()
	select {
	case l.conns <- server:
		return client, nil
	case <-l.done:
		return nil, net.ErrClosed
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

type pipeAddr struct{}

func (pipeAddr) Network() string { return "pipe" }

// String is a loopback address, which a JWKSURL over http must name; the
// client dials the pipe whatever the address.
func (pipeAddr) String() string { return "127.0.0.1:1" }

// newJWKSServerOnPipe is newJWKSServer on a pipeListener, for a test in a
// synctest bubble, with the HTTP client that reaches it.
func newJWKSServerOnPipe(t *testing.T, keys ...token.VerifyKey) (*jwksServer, *http.Client) {
	t.Helper()
	s := &jwksServer{keys: keys, status: http.StatusOK}
	l := newPipeListener()
	s.Server = httptest.NewUnstartedServer(http.HandlerFunc(s.serve))
	s.Listener = l
	s.Start()
	tr := &http.Transport{DialContext: l.dial}
	t.Cleanup(func() {
		tr.CloseIdleConnections()
		s.Close()
	})
	return s, &http.Client{Transport: tr}
}
