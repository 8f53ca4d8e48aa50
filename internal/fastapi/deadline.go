package fastapi

import (
	"crypto/tls"
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"
)

// Timeouts without a deadline change per request.
//
// fasthttp with ReadTimeout, WriteTimeout and IdleTimeout moves a
// connection's deadlines three times per request (the idle wait, the read
// of the request, the write of the answer): three timer changes in the
// runtime's poller and three clock reads, a tenth of the CPU of a small
// request. The server instead gives fasthttp no timeouts and keeps them
// itself, on the connection (conn), driven by fasthttp's ConnState
// callback:
//
//   - when a connection opens, reading its first request is due within
//     ReadTimeout (the TLS handshake included), its answer within
//     ReadTimeout+WriteTimeout;
//   - when a request's first byte arrives on a kept-alive connection, the
//     request is due within ReadTimeout, its answer within
//     ReadTimeout+WriteTimeout of that byte;
//   - when an answer has been sent, the next request's first byte is due
//     within IdleTimeout.
//
// These are the deadlines in force (want). The one set on the connection
// (armed) is moved only when the deadline in force is earlier than it (or
// there is none): a later deadline in force leaves the connection's as it
// was, and when that one passes, conn's Read or Write sees the timeout,
// finds the deadline in force still ahead, sets it on the connection and
// carries on. A connection busy with back-to-back requests thus changes
// its deadline about twice per ReadTimeout instead of three times per
// request, and no client is given more time than the deadline in force:
// a slow client is cut off exactly as with fasthttp's own timeouts.
//
// The conn must be beneath TLS (Listener before tls.NewListener): crypto/tls
// cannot resume a write (or a handshake) that timed out, while conn
// resumes them below it. A connection that is not a conn (a TLS listener
// built over a plain one) gets the same deadlines set on every change, as
// fasthttp would.

// epoch is the origin of the deadlines kept as int64: nanoseconds on the
// monotonic clock, so that times compare without reading the wall clock.
var epoch = time.Now()

func now() int64 { return int64(time.Since(epoch)) }

func at(t int64) time.Time { return epoch.Add(time.Duration(t)) }

// since converts a deadline set from outside (fasthttp, a handler,
// crypto/tls): 0 for none, at least 1 (already passed) otherwise.
func since(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return max(int64(t.Sub(epoch)), 1)
}

// maxResume bounds how many times one Read or Write resumes after a
// deadline that was set early (once is the rule: the deadline in force
// is then on the connection; more only if it keeps being moved).
const maxResume = 4

// deadline is one direction's deadline of a conn.
type deadline struct {
	mu    sync.Mutex   // orders changes of armed with the calls that set it
	want  atomic.Int64 // the deadline in force; 0: none
	armed atomic.Int64 // the deadline set on the connection; 0: none
}

// lazy makes t the deadline in force and reports whether the
// connection's may stay as it is (it is set, and not later than t: it
// passes early, and resume moves it). Otherwise arm must set t. Only the
// serving goroutine calls it (and the accepting one, before).
func (d *deadline) lazy(t int64) bool {
	d.want.Store(t)
	a := d.armed.Load()
	return a != 0 && a <= t
}

// arm sets the deadline in force on the connection.
func (d *deadline) arm(set func(time.Time) error) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	w := d.want.Load()
	if err := set(at(w)); err != nil {
		return err
	}
	d.armed.Store(w)
	return nil
}

// set sets t (from outside) in force and on the connection.
func (d *deadline) set(t time.Time, set func(time.Time) error) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	v := since(t)
	d.want.Store(v)
	err := set(t)
	if err == nil {
		d.armed.Store(v)
	}
	return err
}

// resume is called after the connection's deadline passed. If the
// deadline in force is later (or none), it sets that on the connection and
// reports true: the operation is to be resumed.
func (d *deadline) resume(set func(time.Time) error) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	w := d.want.Load()
	if w == d.armed.Load() || (w != 0 && w <= now()) {
		return false // the deadline in force passed
	}
	var t time.Time
	if w != 0 {
		t = at(w)
	}
	if set(t) != nil {
		return false
	}
	d.armed.Store(w)
	return true
}

// conn is an accepted connection whose deadlines the server keeps.
type conn struct {
	net.Conn
	rd, wr   deadline
	requests int // requests begun; only the serving goroutine touches it
}

// isTimeout: err is a deadline's (os.ErrDeadlineExceeded from a socket,
// fasthttputil's ErrTimeout from its in-memory pipe).
func isTimeout(err error) bool {
	var t interface{ Timeout() bool }
	return errors.As(err, &t) && t.Timeout()
}

func (c *conn) Read(p []byte) (int, error) {
	for i := 0; ; i++ {
		n, err := c.Conn.Read(p)
		if err == nil || i == maxResume || !isTimeout(err) || !c.rd.resume(c.Conn.SetReadDeadline) {
			return n, err
		}
		if n > 0 {
			return n, nil
		}
	}
}

func (c *conn) Write(p []byte) (int, error) {
	written := 0
	for i := 0; ; i++ {
		n, err := c.Conn.Write(p)
		written += n
		p = p[n:]
		if err == nil || i == maxResume || !isTimeout(err) || !c.wr.resume(c.Conn.SetWriteDeadline) {
			return written, err
		}
	}
}

// extend puts the read deadline rd and the write deadline wr after n in
// force.
func (c *conn) extend(n int64, rd, wr time.Duration) error {
	if !c.rd.lazy(n + int64(rd)) {
		if err := c.rd.arm(c.Conn.SetReadDeadline); err != nil {
			return err
		}
	}
	if !c.wr.lazy(n + int64(wr)) {
		return c.wr.arm(c.Conn.SetWriteDeadline)
	}
	return nil
}

func (c *conn) SetReadDeadline(t time.Time) error  { return c.rd.set(t, c.Conn.SetReadDeadline) }
func (c *conn) SetWriteDeadline(t time.Time) error { return c.wr.set(t, c.Conn.SetWriteDeadline) }

func (c *conn) SetDeadline(t time.Time) error {
	return errors.Join(c.SetReadDeadline(t), c.SetWriteDeadline(t))
}

// listener makes every accepted connection a conn (one already a conn, or
// a TLS connection over one, is left as it is).
type listener struct{ net.Listener }

// TLSListener is ln under TLS with cfg, the server's deadlines kept
// beneath TLS (on the plain connections): serve HTTPS on it.
func TLSListener(ln net.Listener, cfg *tls.Config) net.Listener {
	return tls.NewListener(Listener(ln), cfg)
}

// Listener wraps ln so that the server keeps the deadlines of its
// connections coarsely. Serve does it itself; TLSListener puts TLS over
// it.
func Listener(ln net.Listener) net.Listener {
	if _, ok := ln.(listener); ok {
		return ln
	}
	return listener{ln}
}

func (l listener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil || ownConn(c) != nil {
		return c, err
	}
	if _, ok := c.(*tls.Conn); ok {
		return c, nil // over a plain connection: deadlines set on every change
	}
	return &conn{Conn: c}, nil
}

// ownConn is c's conn, nil when it has none.
func ownConn(c net.Conn) *conn {
	switch v := c.(type) {
	case *conn:
		return v
	case *tls.Conn:
		own, _ := v.NetConn().(*conn)
		return own
	}
	return nil
}

// timeouts are the server's; connState applies them.
type timeouts struct{ read, write, idle time.Duration }

// connState is fasthttp's ConnState callback. fasthttp calls it on the
// serving goroutine for StateActive and StateIdle, and on the accepting
// one for StateNew (before the serving goroutine starts).
func (t *timeouts) connState(nc net.Conn, st fasthttp.ConnState) {
	c := ownConn(nc)
	if c == nil {
		t.everyChange(nc, st)
		return
	}
	var err error
	switch st {
	case fasthttp.StateNew:
		err = c.extend(now(), t.read, t.read+t.write)
	case fasthttp.StateActive:
		c.requests++
		if c.requests == 1 {
			return // the first request is due within ReadTimeout of the connection's opening
		}
		err = c.extend(now(), t.read, t.read+t.write)
	case fasthttp.StateIdle:
		if !c.rd.lazy(now() + int64(t.idle)) {
			err = c.rd.arm(c.Conn.SetReadDeadline)
		}
	}
	if err != nil {
		_ = c.Conn.Close() // a connection without its deadlines is not served
	}
}

// everyChange sets the same deadlines on a connection that is not a conn,
// on every change.
func (t *timeouts) everyChange(c net.Conn, st fasthttp.ConnState) {
	var err error
	switch st {
	case fasthttp.StateNew:
		err = c.SetReadDeadline(time.Now().Add(t.read))
	case fasthttp.StateActive:
		n := time.Now()
		err = errors.Join(c.SetReadDeadline(n.Add(t.read)), c.SetWriteDeadline(n.Add(t.read+t.write)))
	case fasthttp.StateIdle:
		err = c.SetReadDeadline(time.Now().Add(t.idle))
	}
	if err != nil {
		_ = c.Close()
	}
}
