package h3api

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/quic-go/quic-go"
	"github.com/quic-go/quic-go/http3"
)

// Defaults of ServerConfig, the HTTP/1.1 server's where it has the bound.
const (
	DefaultReadTimeout    = 10 * time.Second
	DefaultWriteTimeout   = 10 * time.Second
	DefaultIdleTimeout    = 60 * time.Second
	DefaultMaxHeaderBytes = 16 << 10
	// DefaultMaxStreams bounds the requests one connection has open at
	// once. An app's requests are few and mostly sequential (a challenge,
	// then an attest; proxied calls); 32 leaves room for an app that fans
	// its calls out, and is a third of quic-go's default of 100, the
	// streams one connection can hold for up to the read timeout.
	DefaultMaxStreams = 32
	// DefaultMaxConnsPerIP bounds the connections of one client address.
	// A client needs one; clients behind one NAT share an address, and a
	// refused client falls back to HTTP/1.1 (Alt-Svc is advice).
	DefaultMaxConnsPerIP = 16
	// DefaultMaxConns bounds all connections, as the HTTP/1.1 server's
	// (fastapi.Config.MaxConns) default does.
	DefaultMaxConns   = 256 << 10
	DefaultIPv6Prefix = 64
)

// Flow control and unidirectional streams: what one connection may make
// the node hold that the read deadline does not cut.
const (
	// maxUniStreams: a client opens three (control, QPACK encoder and
	// decoder); the rest is room for reserved (grease) types.
	maxUniStreams = 8
	// A connection's data received and not yet read stays below
	// maxConnWindow (quic-go's default reaches 15 MB), a stream's below
	// maxStreamWindow: ample for the 64 KiB bodies of the API, and 20 MB/s
	// per stream at 100 ms of round trip for proxied uploads.
	maxStreamWindow = 2 << 20
	maxConnWindow   = 4 << 20
)

// ServerConfig configures a Server. The zero value of each field but
// Handler selects its default.
type ServerConfig struct {
	Handler http.Handler
	// ReadTimeout bounds reading a request, its header and its body, from
	// the opening of its stream; a handler's reads fail once it passes.
	ReadTimeout time.Duration
	// WriteTimeout: an answer is written within ReadTimeout+WriteTimeout
	// of its stream's opening. A handler may move both deadlines
	// (http.ResponseController), as the proxy does for long answers.
	WriteTimeout time.Duration
	// IdleTimeout closes a connection that has had no request open for
	// this long (QUIC keep-alives do not count).
	IdleTimeout    time.Duration
	MaxHeaderBytes int
	// MaxStreams bounds the requests a connection has open at once: the
	// client waits for one to end before it opens another.
	MaxStreams int
	// MaxConnsPerIP bounds the connections of one client: an IPv4
	// address, or an IPv6 prefix of IPv6Prefix bits.
	MaxConnsPerIP int
	MaxConns      int
	IPv6Prefix    int
	Logger        *slog.Logger
}

func (c *ServerConfig) fill() {
	def := func(v *time.Duration, d time.Duration) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&c.ReadTimeout, DefaultReadTimeout)
	def(&c.WriteTimeout, DefaultWriteTimeout)
	def(&c.IdleTimeout, DefaultIdleTimeout)
	defInt := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	defInt(&c.MaxHeaderBytes, DefaultMaxHeaderBytes)
	defInt(&c.MaxStreams, DefaultMaxStreams)
	defInt(&c.MaxConnsPerIP, DefaultMaxConnsPerIP)
	defInt(&c.MaxConns, DefaultMaxConns)
	defInt(&c.IPv6Prefix, DefaultIPv6Prefix)
	if c.IPv6Prefix > 128 {
		c.IPv6Prefix = 128
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
}

// Server serves HTTP/3 on QUIC listeners. It accepts the connections and
// their streams itself and hands each to quic-go's HTTP/3 connection
// (http3.RawServerConn), so that every request stream has its deadlines
// from its opening, before its header is read: http3.Server.Serve would
// read the header with none.
type Server struct {
	cfg   ServerConfig
	h3    *http3.Server // makes each connection's HTTP/3 state; never serves itself
	conns *connTable

	mu       sync.Mutex
	open     map[*serverConn]struct{}
	draining bool
	wg       sync.WaitGroup // one per connection served

	refusedPerIP, refusedTotal atomic.Uint64
}

// NewServer returns a Server for cfg.
func NewServer(cfg ServerConfig) *Server {
	cfg.fill()
	return &Server{
		cfg: cfg,
		h3: &http3.Server{Handler: cfg.Handler, IdleTimeout: cfg.IdleTimeout,
			MaxHeaderBytes: cfg.MaxHeaderBytes, Logger: cfg.Logger},
		conns: newConnTable(cfg.MaxConnsPerIP, cfg.MaxConns, cfg.IPv6Prefix),
		open:  map[*serverConn]struct{}{},
	}
}

// errRefused refuses a connection attempt (CONNECTION_REFUSED).
var errRefused = errors.New("h3api: too many connections")

// QUICConfig returns base (nil: quic-go's defaults) with the server's
// bounds: streams per connection, the idle timeout, flow-control windows,
// and a refusal, before the handshake, of a client that already holds
// MaxConnsPerIP connections. Listen with it.
func (s *Server) QUICConfig(base *quic.Config) *quic.Config {
	c := &quic.Config{}
	if base != nil {
		c = base.Clone()
	}
	c.MaxIncomingStreams = int64(s.cfg.MaxStreams)
	c.MaxIncomingUniStreams = maxUniStreams
	c.MaxIdleTimeout = s.cfg.IdleTimeout
	c.MaxStreamReceiveWindow = maxStreamWindow
	c.MaxConnectionReceiveWindow = maxConnWindow
	c.GetConfigForClient = func(info *quic.ClientInfo) (*quic.Config, error) {
		if why := s.conns.full(s.conns.client(info.RemoteAddr)); why != "" {
			s.refused(why)
			return nil, errRefused
		}
		return c, nil
	}
	return c
}

func (s *Server) refused(why string) {
	if why == RefusedTotal {
		s.refusedTotal.Add(1)
	} else {
		s.refusedPerIP.Add(1)
	}
}

// Stats are a Server's counters.
type Stats struct {
	// Conns is the number of connections served now.
	Conns int
	// RefusedPerIP and RefusedTotal count the connections refused, before
	// or after their handshake, by the bound named.
	RefusedPerIP, RefusedTotal uint64
}

// Stats returns the server's counters.
func (s *Server) Stats() Stats {
	return Stats{Conns: s.conns.open(), RefusedPerIP: s.refusedPerIP.Load(), RefusedTotal: s.refusedTotal.Load()}
}

// Listener is what Serve accepts from (*quic.Listener).
type Listener interface {
	Accept(context.Context) (*quic.Conn, error)
}

// Serve serves the connections of ln until ln is closed; it then returns
// http.ErrServerClosed. A connection past MaxConnsPerIP or MaxConns (one
// whose handshake raced the check of QUICConfig) is closed with
// H3_EXCESSIVE_LOAD.
func (s *Server) Serve(ln Listener) error {
	for {
		qc, err := ln.Accept(context.Background())
		if errors.Is(err, quic.ErrServerClosed) {
			return http.ErrServerClosed
		}
		if err != nil {
			return err
		}
		k := s.conns.client(qc.RemoteAddr())
		if why := s.conns.take(k); why != "" {
			s.refused(why)
			_ = qc.CloseWithError(quic.ApplicationErrorCode(http3.ErrCodeExcessiveLoad), "too many connections")
			continue
		}
		c := &serverConn{qc: qc}
		if !s.add(c) {
			s.conns.put(k)
			_ = qc.CloseWithError(quic.ApplicationErrorCode(http3.ErrCodeNoError), "shutting down")
			continue
		}
		go func() {
			defer s.wg.Done()
			defer s.conns.put(k)
			defer s.remove(c)
			s.serveConn(c)
		}()
	}
}

// add registers c, unless the server drains.
func (s *Server) add(c *serverConn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.draining {
		return false
	}
	s.open[c] = struct{}{}
	s.wg.Add(1)
	return true
}

func (s *Server) remove(c *serverConn) {
	s.mu.Lock()
	delete(s.open, c)
	s.mu.Unlock()
}

// stop marks the server draining and returns the connections served.
func (s *Server) stop() []*serverConn {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.draining = true
	cs := make([]*serverConn, 0, len(s.open))
	for c := range s.open {
		cs = append(cs, c)
	}
	return cs
}

// Shutdown drains: each connection answers the requests it has begun,
// refuses new ones with H3_REQUEST_REJECTED (a client may send them again,
// on a new connection: they were not processed), and is closed with
// H3_NO_ERROR once its last answer has had time to arrive (closeSoon). When ctx ends first, the
// connections left are closed and Shutdown returns ctx's error. Close the
// listener first (Serve then returns).
//
// quic-go's GOAWAY frame is sent by http3.Server's own connection loop
// only, which reads request headers without a deadline; a client here
// learns of the drain from a rejected request or the connection's close.
func (s *Server) Shutdown(ctx context.Context) error {
	for _, c := range s.stop() {
		c.drain()
	}
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		s.Close()
		return ctx.Err()
	}
}

// Close closes every connection at once and waits for their handlers.
func (s *Server) Close() {
	for _, c := range s.stop() {
		c.close()
	}
	s.wg.Wait()
}
