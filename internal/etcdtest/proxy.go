package etcdtest

import (
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"
)

// Proxy is a TCP forwarder on loopback in front of one member, so a test
// can cut one node off etcd (a network partition) while the cluster runs.
// Its methods are safe for concurrent use.
type Proxy struct {
	ln     net.Listener
	target string

	mu    sync.Mutex
	cut   bool
	conns map[net.Conn]struct{}
}

// NewProxy forwards a new loopback port to target; it closes when the test
// ends.
func NewProxy(t testing.TB, target string) *Proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("etcdtest: proxy: %v", err)
	}
	p := &Proxy{ln: ln, target: target, conns: map[net.Conn]struct{}{}}
	go p.serve()
	t.Cleanup(p.close)
	return p
}

// Addr is the proxy's address, host:port.
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// Cut closes every forwarded connection and refuses new ones until
// Restore.
func (p *Proxy) Cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cut = true
	for c := range p.conns {
		c.Close()
	}
}

// Restore forwards connections again.
func (p *Proxy) Restore() {
	p.mu.Lock()
	p.cut = false
	p.mu.Unlock()
}

func (p *Proxy) close() {
	p.ln.Close()
	p.Cut()
}

func (p *Proxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		if !p.track(c) {
			c.Close()
			continue
		}
		go p.pipe(c)
	}
}

// track records a connection; false when the proxy is cut.
func (p *Proxy) track(c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cut {
		return false
	}
	p.conns[c] = struct{}{}
	return true
}

func (p *Proxy) untrack(cs ...net.Conn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range cs {
		delete(p.conns, c)
		c.Close()
	}
}

func (p *Proxy) pipe(c net.Conn) {
	u, err := net.DialTimeout("tcp", p.target, 2*time.Second)
	if err != nil {
		p.untrack(c)
		return
	}
	if !p.track(u) {
		u.Close()
		p.untrack(c)
		return
	}
	done := make(chan struct{}, 2)
	cp := func(dst, src net.Conn) {
		_, _ = io.Copy(dst, src)
		done <- struct{}{}
	}
	go cp(u, c)
	go cp(c, u)
	<-done
	p.untrack(c, u)
	<-done
}

// Partition is one proxy per member: a node given URL reaches the cluster
// only through it, and Cut cuts that node off every member at once.
type Partition struct {
	proxies []*Proxy
}

// Partition returns proxies in front of every member for one node.
func (c *Cluster) Partition(t testing.TB) *Partition {
	t.Helper()
	pt := &Partition{}
	for _, m := range c.members {
		pt.proxies = append(pt.proxies, NewProxy(t, m.Addr))
	}
	return pt
}

// Endpoints are the proxies' addresses, one per member.
func (pt *Partition) Endpoints() []string {
	var eps []string
	for _, p := range pt.proxies {
		eps = append(eps, p.Addr())
	}
	return eps
}

// URL is the store URL of prefix through the proxies.
func (pt *Partition) URL(prefix string) string {
	return "etcd://" + strings.Join(pt.Endpoints(), ",") + "/" + prefix
}

// Cut cuts the node off the cluster.
func (pt *Partition) Cut() {
	for _, p := range pt.proxies {
		p.Cut()
	}
}

// Restore reconnects the node.
func (pt *Partition) Restore() {
	for _, p := range pt.proxies {
		p.Restore()
	}
}
