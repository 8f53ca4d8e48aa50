package client

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"maps"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"time"
)

// pinner holds the pins of the latest attestation (PROTOCOL.md §5) and
// checks TLS connections against them. It is safe for concurrent use.
type pinner struct {
	cur atomic.Pointer[pinSet]
}

// pinSet maps a lower-case host name to its pins (SHA-256 of SPKI). It is
// never modified once built.
type pinSet struct {
	raw   map[string][]string
	hosts map[string][][sha256.Size]byte
}

// update installs pins and reports whether they differ from the current
// ones. Pins that do not decode to 32 bytes are skipped: they match nothing,
// so a host whose pins are all malformed refuses every connection.
func (p *pinner) update(pins map[string][]string) bool {
	if old := p.cur.Load(); old != nil && maps.EqualFunc(old.raw, pins, slices.Equal) {
		return false
	}
	ps := &pinSet{raw: maps.Clone(pins), hosts: make(map[string][][sha256.Size]byte, len(pins))}
	for host, list := range pins {
		h := strings.ToLower(host)
		ps.hosts[h] = make([][sha256.Size]byte, 0, len(list)) // present even if empty of valid pins
		for _, pin := range list {
			var sum [sha256.Size]byte
			if n, err := base64.StdEncoding.Strict().Decode(sum[:], []byte(pin)); err == nil && n == sha256.Size {
				ps.hosts[h] = append(ps.hosts[h], sum)
			}
		}
	}
	p.cur.Store(ps)
	return true
}

// pins returns a copy of the current pins.
func (p *pinner) pins() map[string][]string {
	ps := p.cur.Load()
	if ps == nil {
		return map[string][]string{}
	}
	out := make(map[string][]string, len(ps.raw))
	for h, l := range ps.raw {
		out[h] = slices.Clone(l)
	}
	return out
}

// check accepts cs for host when the host has no pins, or when a
// certificate of a verified chain (or, without verified chains, the leaf)
// has a pinned SPKI.
func (p *pinner) check(host string, cs tls.ConnectionState) error {
	ps := p.cur.Load()
	if ps == nil {
		return nil
	}
	want, pinned := ps.hosts[strings.ToLower(host)]
	if !pinned {
		return nil
	}
	chains := cs.VerifiedChains
	if len(chains) == 0 && len(cs.PeerCertificates) > 0 {
		// Nothing verified the chain (InsecureSkipVerify): only the leaf,
		// whose key the handshake proved, can stand for the server.
		chains = [][]*x509.Certificate{cs.PeerCertificates[:1]}
	}
	for _, chain := range chains {
		for _, cert := range chain {
			sum := sha256.Sum256(cert.RawSubjectPublicKeyInfo)
			for _, w := range want {
				if bytes.Equal(sum[:], w[:]) {
					return nil
				}
			}
		}
	}
	return fmt.Errorf("%w (host %s)", ErrPinMismatch, host)
}

// install makes tr check every TLS connection against the pins: a
// DialTLSContext that knows the host dialled (IP addresses included), and
// a VerifyConnection on TLSClientConfig for the connections tr makes
// itself (through an HTTPS proxy), where the host is the SNI name.
func (p *pinner) install(tr *http.Transport) {
	base := tr.TLSClientConfig
	if base == nil {
		base = &tls.Config{}
	}
	base = base.Clone()
	dial := tr.DialContext
	if dial == nil {
		dial = (&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}).DialContext
	}
	h2 := tr.ForceAttemptHTTP2
	handshake := tr.TLSHandshakeTimeout
	if own := tr.DialTLSContext; own != nil {
		// The caller dials TLS itself: check what its connection says.
		tr.DialTLSContext = p.checkedDial(own)
	} else if tr.DialTLS != nil { // the deprecated hook, honoured too
		own := tr.DialTLS
		tr.DialTLS = nil
		tr.DialTLSContext = p.checkedDial(func(_ context.Context, network, addr string) (net.Conn, error) { return own(network, addr) })
	} else {
		tr.DialTLSContext = p.dialTLS(base, dial, h2, handshake)
	}
	cfg := base.Clone()
	prev := base.VerifyConnection
	cfg.VerifyConnection = func(cs tls.ConnectionState) error {
		return p.verifier(cs.ServerName, prev)(cs)
	}
	tr.TLSClientConfig = cfg
}

// checkedDial wraps a caller's TLS dialer: a connection to a pinned host
// must expose its TLS state, and that state must match the pins.
func (p *pinner) checkedDial(dial func(ctx context.Context, network, addr string) (net.Conn, error)) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		host, _, err := net.SplitHostPort(addr)
		if err != nil {
			return nil, err
		}
		conn, err := dial(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		if tc, ok := conn.(*tls.Conn); ok {
			if err := tc.HandshakeContext(ctx); err != nil {
				conn.Close()
				return nil, err
			}
		}
		var cs tls.ConnectionState
		if tc, ok := conn.(interface{ ConnectionState() tls.ConnectionState }); ok {
			cs = tc.ConnectionState()
		}
		if err := p.check(host, cs); err != nil {
			conn.Close()
			return nil, err
		}
		return conn, nil
	}
}

// dialTLS dials TCP and makes the TLS handshake with the pins of the host
// dialled checked.
func (p *pinner) dialTLS(base *tls.Config, dial func(ctx context.Context, network, addr string) (net.Conn, error), h2 bool, handshake time.Duration) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		host, _, err := net.SplitHostPort(addr)
		if err != nil {
			return nil, err
		}
		cfg := base.Clone()
		if cfg.ServerName == "" {
			cfg.ServerName = host
		}
		if h2 && len(cfg.NextProtos) == 0 {
			cfg.NextProtos = []string{"h2", "http/1.1"}
		}
		cfg.VerifyConnection = p.verifier(host, base.VerifyConnection)
		raw, err := dial(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		if handshake > 0 {
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(ctx, handshake)
			defer cancel()
		}
		conn := tls.Client(raw, cfg)
		if err := conn.HandshakeContext(ctx); err != nil {
			raw.Close()
			return nil, err
		}
		return conn, nil
	}
}

// verifier checks prev (the caller's own VerifyConnection, if any), then the
// pins of host.
func (p *pinner) verifier(host string, prev func(tls.ConnectionState) error) func(tls.ConnectionState) error {
	return func(cs tls.ConnectionState) error {
		if prev != nil {
			if err := prev(cs); err != nil {
				return err
			}
		}
		return p.check(host, cs)
	}
}
