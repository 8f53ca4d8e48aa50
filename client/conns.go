package client

import (
	"crypto/tls"
	"net"
	"sync"
	"weak"
)

// connSet holds the TLS connections a pinner dialled, weakly: a connection
// the HTTP transport has dropped is collected and leaves the set, so the set
// needs no hook into the transport. It is safe for concurrent use.
type connSet struct {
	mu      sync.Mutex
	conns   map[*tracked]struct{}
	pruneAt int // prune the collected entries when the set reaches this size
}

// tracked is one connection: its host (the pins' key) and a weak pointer to
// it.
type tracked struct {
	host   string
	tunnel bool // a connection to an HTTP proxy: closed at every change
	tls    weak.Pointer[tls.Conn]
	other  weak.Pointer[otherConn]
}

// otherConn wraps a TLS connection of the caller's DialTLSContext that is
// not a *tls.Conn (HTTP/2 is only spoken over a *tls.Conn, so the wrapper
// changes nothing), giving it a pointer the set can hold weakly.
type otherConn struct{ net.Conn }

// add registers conn (a *tls.Conn or an *otherConn) for host; a tunnel is
// a connection to an HTTP proxy, whose TLS to the host beyond the
// Transport cannot see.
func (s *connSet) add(host string, conn net.Conn, tunnel bool) {
	e := &tracked{host: host, tunnel: tunnel}
	switch c := conn.(type) {
	case *tls.Conn:
		e.tls = weak.Make(c)
	case *otherConn:
		e.other = weak.Make(c)
	default:
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.conns == nil {
		s.conns = map[*tracked]struct{}{}
	}
	s.conns[e] = struct{}{}
	if len(s.conns) >= s.pruneAt {
		s.pruneLocked()
		s.pruneAt = max(64, 2*len(s.conns))
	}
}

// pruneLocked drops the entries whose connection was collected.
func (s *connSet) pruneLocked() {
	for e := range s.conns {
		if _, ok := e.state(); !ok {
			delete(s.conns, e)
		}
	}
}

// state is the connection's TLS state; ok false once it was collected or
// when it has none.
func (e *tracked) state() (tls.ConnectionState, bool) {
	if tc := e.tls.Value(); tc != nil {
		return tc.ConnectionState(), true
	}
	if c := e.other.Value(); c != nil {
		if sc, ok := c.Conn.(interface{ ConnectionState() tls.ConnectionState }); ok {
			return sc.ConnectionState(), true
		}
		return tls.ConnectionState{}, true
	}
	return tls.ConnectionState{}, false
}

// kill closes the connection at once: beneath TLS when it can, so that no
// close_notify is written (which could block on a busy connection).
func (e *tracked) kill() {
	if tc := e.tls.Value(); tc != nil {
		_ = tc.NetConn().Close()
		return
	}
	if c := e.other.Value(); c != nil {
		go c.Close()
	}
}

// recheck checks every connection with check and closes those it refuses,
// and every tunnel.
func (s *connSet) recheck(check func(host string, cs tls.ConnectionState) error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for e := range s.conns {
		cs, ok := e.state()
		if !ok {
			delete(s.conns, e)
			continue
		}
		if e.tunnel || check(e.host, cs) != nil {
			e.kill()
			delete(s.conns, e)
		}
	}
}
