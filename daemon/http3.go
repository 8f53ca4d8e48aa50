package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/quic-go/quic-go"
	"github.com/quic-go/quic-go/http3"

	"github.com/attestd/attestd/crypto/secret"
	"github.com/attestd/attestd/internal/h3api"
	"github.com/attestd/attestd/internal/state"
)

// http3Server is the HTTP/3 listener: one UDP socket, a quic.Transport
// keyed with the deployment's stateless-reset and token keys (the same on
// every node, so that after an anycast failover the new node resets the
// old connections cleanly and accepts the address-validation tokens the
// others issued), and h3api's server, which keeps the bounds of the
// HTTP/1.1 server (deadlines per request, idle timeout) and bounds the
// streams per connection and the connections per client address.
type http3Server struct {
	conn net.PacketConn
	tr   *quic.Transport
	ln   *quic.Listener
	srv  *h3api.Server
	// keys are the QUIC keys the transport was built with.
	reset, token secret.Value
}

// sameKeys reports whether dep holds the keys the transport runs with.
func (s *http3Server) sameKeys(dep *state.Deployment) bool {
	return s.reset.Equal(dep.QUICStatelessReset) && s.token.Equal(dep.QUICToken)
}

// quicConfig refuses 0-RTT: the POST endpoints mint nonces and tokens and
// release secrets, and early data can be replayed. (A nil quic.Config
// would allow it.) h3api.Server.QUICConfig adds its bounds.
func quicConfig() *quic.Config {
	return &quic.Config{
		Allow0RTT:            false,
		HandshakeIdleTimeout: 5 * time.Second,
		KeepAlivePeriod:      0,
	}
}

// http3Config is the HTTP/3 server's configuration: the public listeners'
// timeouts (shared with HTTP/1.1) and the HTTP/3 bounds.
func http3Config(cfg Config, h http.Handler, log *slog.Logger) h3api.ServerConfig {
	return h3api.ServerConfig{
		Handler: h, Logger: log.With("listener", "http3"),
		ReadTimeout: cfg.ReadTimeout, WriteTimeout: cfg.WriteTimeout, IdleTimeout: cfg.IdleTimeout,
		MaxHeaderBytes: 16 << 10,
		MaxStreams:     cfg.HTTP3MaxStreams, MaxConnsPerIP: cfg.HTTP3MaxConnsPerIP,
		IPv6Prefix: cfg.Limits.IPv6Prefix,
	}
}

// errQUICKeys: the store lacks the deployment's QUIC keys.
var errQUICKeys = errors.New("http3: the store's QUIC keys are missing or malformed")

func listenHTTP3(ctx context.Context, addr string, dep *state.Deployment, ts *tlsState, sc h3api.ServerConfig) (*http3Server, error) {
	if dep.QUICStatelessReset.Len() != len(quic.StatelessResetKey{}) || dep.QUICToken.Len() != len(quic.TokenGeneratorKey{}) {
		return nil, errQUICKeys
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
	s.srv = h3api.NewServer(sc)
	s.tr = &quic.Transport{Conn: conn, StatelessResetKey: &reset, TokenGeneratorKey: &token}
	if s.ln, err = s.tr.Listen(http3.ConfigureTLSConfig(ts.listenerConfig()), s.srv.QUICConfig(quicConfig())); err != nil {
		conn.Close()
		return nil, fmt.Errorf("http3 listen: %w", err)
	}
	return s, nil
}

// Addr is the bound UDP address.
func (s *http3Server) Addr() net.Addr { return s.conn.LocalAddr() }

func (s *http3Server) serve() error { return s.srv.Serve(s.ln) }

// shutdown stops accepting connections, lets the requests begun finish
// until ctx ends (new ones are rejected, retryable), then closes the
// socket.
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
	s.srv.Close()
	s.tr.Close()
	s.conn.Close()
}

var (
	descH3Conns   = prometheus.NewDesc("attestd_http3_connections", "HTTP/3 connections being served.", nil, nil)
	descH3Refused = prometheus.NewDesc("attestd_http3_connections_refused_total",
		"HTTP/3 connections refused, by the bound reached (per_ip: --http3-max-conns-per-ip; total).", []string{"limit"}, nil)
)

// Describe and Collect make the server's counters Prometheus metrics.
func (s *http3Server) Describe(ch chan<- *prometheus.Desc) { ch <- descH3Conns; ch <- descH3Refused }

func (s *http3Server) Collect(ch chan<- prometheus.Metric) {
	st := s.srv.Stats()
	ch <- prometheus.MustNewConstMetric(descH3Conns, prometheus.GaugeValue, float64(st.Conns))
	ch <- prometheus.MustNewConstMetric(descH3Refused, prometheus.CounterValue, float64(st.RefusedPerIP), h3api.RefusedPerIP)
	ch <- prometheus.MustNewConstMetric(descH3Refused, prometheus.CounterValue, float64(st.RefusedTotal), h3api.RefusedTotal)
}
