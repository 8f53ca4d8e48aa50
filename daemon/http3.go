package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/quic-go/quic-go"
	"github.com/quic-go/quic-go/http3"

	"github.com/attestd/attestd/crypto/secret"
	"github.com/attestd/attestd/internal/state"
)

// http3Server is the HTTP/3 listener: one UDP socket, a quic.Transport
// keyed with the deployment's stateless-reset and token keys (the same on
// every node, so that after an anycast failover the new node resets the
// old connections cleanly and accepts the address-validation tokens the
// others issued), and quic-go's http3.Server.
type http3Server struct {
	conn net.PacketConn
	tr   *quic.Transport
	ln   *quic.Listener
	srv  *http3.Server
	// keys are the QUIC keys the transport was built with.
	reset, token secret.Value
}

// sameKeys reports whether dep holds the keys the transport runs with.
func (s *http3Server) sameKeys(dep *state.Deployment) bool {
	return s.reset.Equal(dep.QUICStatelessReset) && s.token.Equal(dep.QUICToken)
}

// quicConfig refuses 0-RTT: the POST endpoints mint nonces and tokens and
// release secrets, and early data can be replayed. (A nil quic.Config
// would allow it.)
func quicConfig() *quic.Config {
	return &quic.Config{
		Allow0RTT:            false,
		HandshakeIdleTimeout: 5 * time.Second,
		MaxIdleTimeout:       60 * time.Second,
		KeepAlivePeriod:      0,
	}
}

func listenHTTP3(ctx context.Context, addr string, dep *state.Deployment, ts *tlsState, h http.Handler, log *slog.Logger) (*http3Server, error) {
	if dep.QUICStatelessReset.Len() != len(quic.StatelessResetKey{}) || dep.QUICToken.Len() != len(quic.TokenGeneratorKey{}) {
		return nil, errors.New("http3: the store's QUIC keys are missing or malformed (run attestctl init)")
	}
	var reset quic.StatelessResetKey
	var token quic.TokenGeneratorKey
	copy(reset[:], dep.QUICStatelessReset.Reveal())
	copy(token[:], dep.QUICToken.Reveal())
	var lc net.ListenConfig
	conn, err := lc.ListenPacket(ctx, "udp", addr)
	if err != nil {
		return nil, fmt.Errorf("http3 listen: %w", err)
	}
	s := &http3Server{conn: conn, reset: secret.New(dep.QUICStatelessReset.Reveal()), token: secret.New(dep.QUICToken.Reveal())}
	s.tr = &quic.Transport{Conn: conn, StatelessResetKey: &reset, TokenGeneratorKey: &token}
	if s.ln, err = s.tr.Listen(http3.ConfigureTLSConfig(ts.listenerConfig()), quicConfig()); err != nil {
		conn.Close()
		return nil, fmt.Errorf("http3 listen: %w", err)
	}
	s.srv = &http3.Server{
		Handler:        h,
		IdleTimeout:    60 * time.Second,
		MaxHeaderBytes: 16 << 10,
		Logger:         log.With("listener", "http3"),
	}
	return s, nil
}

// Addr is the bound UDP address.
func (s *http3Server) Addr() net.Addr { return s.conn.LocalAddr() }

func (s *http3Server) serve() error { return s.srv.ServeListener(s.ln) }

// shutdown stops accepting connections, sends GOAWAY on the open ones,
// lets their requests finish until ctx ends, then closes the socket.
func (s *http3Server) shutdown(ctx context.Context) error {
	s.ln.Close()
	err := s.srv.Shutdown(ctx)
	s.close()
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("http3: in-flight requests cut at the drain timeout: %w", err)
	}
	return err
}

func (s *http3Server) close() {
	s.ln.Close()
	s.tr.Close()
	s.conn.Close()
}
