package h3api

import (
	"context"
	"sync"
	"time"

	"github.com/quic-go/quic-go"
	"github.com/quic-go/quic-go/http3"
)

// serverConn is one connection being served.
type serverConn struct {
	qc *quic.Conn

	mu       sync.Mutex
	hc       *http3.RawServerConn // nil until the HTTP/3 state is made
	active   int                  // request streams being handled
	lastEnd  time.Time            // when the last request was answered
	draining bool
	closed   bool
}

// serveConn serves c's streams until the connection closes, and returns
// once their handlers have.
//
// Each request stream gets its deadlines when it is accepted (on its first
// frame): reading, the header and the body, until ReadTimeout from then;
// writing until ReadTimeout+WriteTimeout. quic-go's HTTP/3 connection
// then reads the header, calls the handler, and resets the stream when a
// read or write fails. A unidirectional stream must name its type within
// ReadTimeout; the control stream then lives as long as the connection.
func (s *Server) serveConn(c *serverConn) {
	hc, err := s.h3.NewRawServerConn(c.qc)
	if err != nil {
		_ = c.qc.CloseWithError(quic.ApplicationErrorCode(http3.ErrCodeInternalError), "")
		return
	}
	if !c.ready(hc) {
		return // Shutdown or Close came first
	}
	var wg sync.WaitGroup
	defer wg.Wait()
	wg.Go(func() {
		for {
			us, err := c.qc.AcceptUniStream(context.Background())
			if err != nil {
				return
			}
			wg.Go(func() { s.serveUni(hc, us) })
		}
	})
	for {
		str, err := c.qc.AcceptStream(context.Background())
		if err != nil {
			return // the connection is closed
		}
		if !c.begin() {
			str.CancelRead(quic.StreamErrorCode(http3.ErrCodeRequestRejected))
			str.CancelWrite(quic.StreamErrorCode(http3.ErrCodeRequestRejected))
			continue
		}
		now := time.Now()
		_ = str.SetReadDeadline(now.Add(s.cfg.ReadTimeout))
		_ = str.SetWriteDeadline(now.Add(s.cfg.ReadTimeout + s.cfg.WriteTimeout))
		wg.Go(func() {
			defer c.end()
			hc.HandleRequestStream(str)
		})
	}
}

// serveUni waits, until the read deadline, for the stream's type (a
// variable-length integer, 1 to 8 bytes) without consuming it, then hands
// the stream to HTTP/3 without a deadline.
func (s *Server) serveUni(hc *http3.RawServerConn, us *quic.ReceiveStream) {
	_ = us.SetReadDeadline(time.Now().Add(s.cfg.ReadTimeout))
	var b [8]byte
	_, err := us.Peek(b[:1])
	if err == nil {
		_, err = us.Peek(b[:1<<(b[0]>>6)])
	}
	if err != nil {
		us.CancelRead(quic.StreamErrorCode(http3.ErrCodeStreamCreationError))
		return
	}
	_ = us.SetReadDeadline(time.Time{})
	hc.HandleUnidirectionalStream(us)
}

// ready records c's HTTP/3 state; false if c was closed meanwhile.
func (c *serverConn) ready(hc *http3.RawServerConn) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.hc = hc
	if c.closed {
		_ = hc.CloseWithError(quic.ApplicationErrorCode(http3.ErrCodeNoError), "")
		return false
	}
	return true
}

// begin counts a request stream, unless c drains.
func (c *serverConn) begin() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.draining {
		return false
	}
	c.active++
	return true
}

// end: a request is answered; a draining connection closes after its last.
func (c *serverConn) end() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.active--
	c.lastEnd = time.Now()
	if c.draining && c.active == 0 {
		c.closeSoon()
	}
}

// drain makes c refuse new requests and close after its last.
func (c *serverConn) drain() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.draining = true
	if c.active == 0 {
		c.closeSoon()
	}
}

// closeSoon closes c once what it last sent has had time to arrive: a
// handler returns when its answer is sent, not when it is acknowledged,
// and closing the connection discards what is still unacknowledged. It
// waits three probe timeouts of the connection (RFC 9002: smoothed RTT,
// four deviations and the peer's ack delay), from 50 ms to 2 s; a
// connection idle for as long closes at once.
func (c *serverConn) closeSoon() {
	st := c.qc.ConnectionStats()
	d := min(max(3*(st.SmoothedRTT+4*st.MeanDeviation+25*time.Millisecond), 50*time.Millisecond), 2*time.Second)
	wait := d - time.Since(c.lastEnd)
	if c.lastEnd.IsZero() || wait <= 0 {
		c.closeLocked()
		return
	}
	time.AfterFunc(wait, c.close)
}

func (c *serverConn) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.draining = true
	c.closeLocked()
}

// closeLocked closes the connection with H3_NO_ERROR (once).
func (c *serverConn) closeLocked() {
	if c.closed {
		return
	}
	c.closed = true
	code := quic.ApplicationErrorCode(http3.ErrCodeNoError)
	if c.hc != nil {
		_ = c.hc.CloseWithError(code, "") // also stops its idle timer
		return
	}
	_ = c.qc.CloseWithError(code, "")
}
