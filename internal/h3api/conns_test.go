package h3api

import (
	"net"
	"net/netip"
	"testing"
)

// TestConnTableKeysAndBounds: an IPv4 client is its address (also when
// mapped into IPv6), an IPv6 client its /64, so that one host cannot pose
// as many clients; the bound per client and the total hold, and put makes
// room again.
func TestConnTableKeysAndBounds(t *testing.T) {
	tb := newConnTable(2, 5, 64)
	udp := func(s string) net.Addr { return net.UDPAddrFromAddrPort(netip.MustParseAddrPort(s)) }
	for _, tc := range []struct{ a, b string }{
		{"192.0.2.1:1", "[::ffff:192.0.2.1]:2"},
		{"[2001:db8:1:2::1]:1", "[2001:db8:1:2:ffff:ffff:ffff:ffff]:2"},
	} {
		if ka, kb := tb.client(udp(tc.a)), tb.client(udp(tc.b)); ka != kb {
			t.Errorf("%s and %s are different clients (%v, %v)", tc.a, tc.b, ka, kb)
		}
	}
	if tb.client(udp("[2001:db8:1:2::1]:1")) == tb.client(udp("[2001:db8:1:3::1]:1")) {
		t.Error("two /64s are one client")
	}
	if tb.client(udp("192.0.2.1:1")) == tb.client(udp("192.0.2.2:1")) {
		t.Error("two IPv4 addresses are one client")
	}

	a, b, c := tb.client(udp("192.0.2.1:1")), tb.client(udp("[2001:db8::1]:1")), tb.client(udp("198.51.100.7:9"))
	for _, k := range []netip.Addr{a, a, b, b} {
		if why := tb.take(k); why != "" {
			t.Fatalf("take %v: %s", k, why)
		}
	}
	if why := tb.full(a); why != RefusedPerIP {
		t.Errorf("a third from one client: %q, want %q", why, RefusedPerIP)
	}
	if why := tb.take(a); why != RefusedPerIP {
		t.Errorf("a third from one client taken: %q", why)
	}
	if why := tb.take(c); why != "" {
		t.Fatalf("fifth: %s", why)
	}
	if why := tb.take(tb.client(udp("203.0.113.1:1"))); why != RefusedTotal {
		t.Errorf("a sixth in all: %q, want %q", why, RefusedTotal)
	}
	tb.put(a)
	tb.put(c)
	if why := tb.take(a); why != "" {
		t.Errorf("after put: %q", why)
	}
	if n := tb.open(); n != 4 {
		t.Errorf("open %d, want 4", n)
	}
	for _, k := range []netip.Addr{a, a, b, b} {
		tb.put(k)
	}
	if len(tb.n) != 0 || tb.open() != 0 {
		t.Errorf("after every put: %d clients, %d open", len(tb.n), tb.open())
	}
}
