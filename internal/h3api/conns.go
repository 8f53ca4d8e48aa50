package h3api

import (
	"net"
	"net/netip"
	"sync"
)

// Reasons a connection is refused, as the label of the refusals counter.
const (
	RefusedPerIP = "per_ip" // the client address holds MaxConnsPerIP connections
	RefusedTotal = "total"  // the server holds MaxConns connections
)

// connTable counts the open connections, in all and per client: an IPv4
// address, or the IPv6 prefix of prefix6 bits (a /64 by default: the
// smallest block a site is given, so that one host cannot pose as 2^64
// clients). Its size is the number of clients with an open connection.
// Safe for concurrent use.
type connTable struct {
	perIP, max, prefix6 int

	mu    sync.Mutex
	n     map[netip.Addr]int
	total int
}

func newConnTable(perIP, max, prefix6 int) *connTable {
	return &connTable{perIP: perIP, max: max, prefix6: prefix6, n: map[netip.Addr]int{}}
}

// client is the key of a remote address: the zero Addr when it is not an
// IP address (all such connections then share one count).
func (t *connTable) client(a net.Addr) netip.Addr {
	var ip netip.Addr
	switch v := a.(type) {
	case *net.UDPAddr:
		ip, _ = netip.AddrFromSlice(v.IP)
	default:
		if ap, err := netip.ParseAddrPort(a.String()); err == nil {
			ip = ap.Addr()
		}
	}
	ip = ip.Unmap()
	if ip.Is6() {
		if p, err := ip.Prefix(t.prefix6); err == nil {
			return p.Addr()
		}
	}
	return ip
}

// full reports why one more connection from k would be refused ("" if
// it would not). It counts nothing: a connection counts once its
// handshake is complete (take), when its address is proven.
func (t *connTable) full(k netip.Addr) string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.fullLocked(k)
}

func (t *connTable) fullLocked(k netip.Addr) string {
	switch {
	case t.total >= t.max:
		return RefusedTotal
	case t.n[k] >= t.perIP:
		return RefusedPerIP
	}
	return ""
}

// take counts a connection from k, or reports why it is refused.
func (t *connTable) take(k netip.Addr) string {
	t.mu.Lock()
	defer t.mu.Unlock()
	if why := t.fullLocked(k); why != "" {
		return why
	}
	t.n[k]++
	t.total++
	return ""
}

// put releases a connection take counted.
func (t *connTable) put(k netip.Addr) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.total--
	if t.n[k] <= 1 {
		delete(t.n, k)
		return
	}
	t.n[k]--
}

// open is the number of connections counted.
func (t *connTable) open() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.total
}
