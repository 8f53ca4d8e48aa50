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
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// pinner holds the pins of the latest attestation (docs/protocol.md §5) and
// checks TLS connections against them: at the handshake, and again, for
// every connection it dialled and that is still open, whenever the pins
// change. It is safe for concurrent use.
type pinner struct {
	cur     atomic.Pointer[pinSet]
	conns   connSet
	proxies sync.Map // host:port (lower case) of the HTTP proxies used for https requests
}

// pinSet maps a lower-case host name to its pins (SHA-256 of SPKI). It is
// never modified once built.
type pinSet struct {
	raw   map[string][]string
	hosts map[string][][sha256.Size]byte
}

// update installs pins and reports whether they differ from the current
// ones; when they do, every open connection the pinner dialled is checked
// against them and closed if it no longer matches (busy or not). Pins that
// do not decode to 32 bytes are skipped: they match nothing, so a host
// whose pins are all malformed refuses every connection.
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
	p.conns.recheck(p.check)
	return true
}

// pinned reports whether host has pins.
func (p *pinner) pinned(host string) bool {
	ps := p.cur.Load()
	if ps == nil {
		return false
	}
	_, ok := ps.hosts[strings.ToLower(host)]
	return ok
}

// keep registers conn, dialled for host and checked at its handshake, with
// the connections update re-checks, then checks it against the pins in
// force now: pins that changed during the handshake are not missed
// (update stores the pins before it re-checks, keep registers before it
// checks).
func (p *pinner) keep(host string, conn net.Conn) error {
	p.conns.add(host, conn, false)
	var cs tls.ConnectionState
	switch c := conn.(type) {
	case *tls.Conn:
		cs = c.ConnectionState()
	case *otherConn:
		if sc, ok := c.Conn.(interface{ ConnectionState() tls.ConnectionState }); ok {
			cs = sc.ConnectionState()
		}
	}
	return p.check(host, cs)
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
	if tr.Proxy != nil {
		tr.Proxy, tr.DialContext = p.trackProxies(tr.Proxy, dial)
	}
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

// trackProxies wraps a transport's Proxy, to learn the proxies https
// requests go through, and its DialContext, to keep the connections to
// those proxies as tunnels: the transport makes the TLS handshake with the
// host beyond itself (checked by TLSClientConfig.VerifyConnection), and
// since that connection cannot be re-checked from outside, a change of pins
// closes every tunnel. (Plain http requests through the same proxy share
// its connections and are closed with them.) A proxy reached over TLS is
// dialled by dialTLS, which tells tunnels apart the same way.
func (p *pinner) trackProxies(proxy func(*http.Request) (*url.URL, error),
	dial func(ctx context.Context, network, addr string) (net.Conn, error),
) (func(*http.Request) (*url.URL, error), func(ctx context.Context, network, addr string) (net.Conn, error)) {
	watched := func(r *http.Request) (*url.URL, error) {
		u, err := proxy(r)
		if u != nil && r.URL.Scheme == "https" {
			p.proxies.Store(proxyAddr(u), true)
		}
		return u, err
	}
	dialer := func(ctx context.Context, network, addr string) (net.Conn, error) {
		conn, err := dial(ctx, network, addr)
		if err != nil || !p.isProxy(addr) {
			return conn, err
		}
		oc := &otherConn{conn}
		p.conns.add("", oc, true)
		return oc, nil
	}
	return watched, dialer
}

func (p *pinner) isProxy(addr string) bool {
	_, ok := p.proxies.Load(strings.ToLower(addr))
	return ok
}

// proxyAddr is the host:port net/http dials for the proxy u (its
// canonicalAddr, for ASCII host names).
func proxyAddr(u *url.URL) string {
	port := u.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443", "socks5": "1080", "socks5h": "1080"}[u.Scheme]
	}
	return strings.ToLower(net.JoinHostPort(u.Hostname(), port))
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
		if _, ok := conn.(*tls.Conn); !ok {
			conn = &otherConn{conn}
		}
		if err := p.keep(host, conn); err != nil {
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
		if p.isProxy(addr) {
			p.conns.add(host, conn, true)
			return conn, nil
		}
		if err := p.keep(host, conn); err != nil {
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
