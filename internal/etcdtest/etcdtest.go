// Package etcdtest starts real etcd clusters for tests, on loopback.
//
// Each member is a separate process: the test binary itself, re-executed
// with an environment variable that makes Main run one etcd server
// (go.etcd.io/etcd/server/v3/embed) instead of the tests. Separate
// processes let a test kill a member with SIGKILL (a crash, not a polite
// shutdown that hands leadership over first), restart it on the same data
// directory and ports, stop the whole cluster and start it again, all
// without an etcd binary installed. Nothing is mocked.
//
// A package that starts clusters must route its TestMain through Main:
//
//	func TestMain(m *testing.M) { etcdtest.Main(m) }
//
// When a cluster cannot be started, Unavailable fails the test if the
// environment variable CI is set, and skips it otherwise.
//
// Only tests import this package.
package etcdtest

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
)

// StartTimeout bounds how long a member may take to become ready.
const StartTimeout = 90 * time.Second

// Main is the TestMain of packages that start clusters: in a member process
// it runs the member and exits; otherwise it runs the tests.
func Main(m *testing.M) {
	if spec := os.Getenv(envMember); spec != "" {
		os.Exit(runMember(spec))
	}
	os.Exit(m.Run())
}

// Unavailable ends a test that could not start etcd: a failure when CI is
// set (CI must never skip these tests silently), a skip elsewhere.
func Unavailable(t testing.TB, err error) {
	t.Helper()
	if os.Getenv("CI") != "" {
		t.Fatalf("etcd could not be started and CI is set, so this fails instead of skipping: %v", err)
	}
	t.Skipf("etcd could not be started (with CI set this fails): %v", err)
}

// Options configure Start.
type Options struct {
	// Members is the cluster size (default 3).
	Members int
	// TLS serves clients over TLS and requires client certificates; the
	// files are in Cluster.TLS. ClientCN is the client certificate's
	// common name (default "root").
	TLS      bool
	ClientCN string
}

// Cluster is a running test cluster; it is stopped when the test ends.
// Its methods are safe for concurrent use.
type Cluster struct {
	t       testing.TB
	members []*Member
	// TLS holds the CA, server and client certificate files (nil without
	// Options.TLS).
	TLS *TLSFiles
}

// Start starts a cluster and waits until every member serves. A cluster
// that cannot start ends the test through Unavailable.
func Start(t testing.TB, o Options) *Cluster {
	t.Helper()
	if o.Members <= 0 {
		o.Members = 3
	}
	c, err := newCluster(t, o)
	if err != nil {
		Unavailable(t, err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			c.dumpLogs()
		}
		c.KillAll()
	})
	if err := c.StartAll(); err != nil {
		Unavailable(t, err)
	}
	return c
}

func newCluster(t testing.TB, o Options) (*Cluster, error) {
	dir := t.TempDir()
	c := &Cluster{t: t}
	scheme := "http"
	if o.TLS {
		cn := o.ClientCN
		if cn == "" {
			cn = "root"
		}
		files, err := newTLSFiles(dir, cn)
		if err != nil {
			return nil, err
		}
		c.TLS, scheme = files, "https"
	}
	ports, err := freePorts(2 * o.Members)
	if err != nil {
		return nil, err
	}
	var initial []string
	for i := range o.Members {
		name := fmt.Sprintf("m%d", i)
		spec := memberSpec{
			Name: name, Dir: filepath.Join(dir, name), Token: filepath.Base(dir),
			ClientURL: fmt.Sprintf("%s://127.0.0.1:%d", scheme, ports[2*i]),
			PeerURL:   fmt.Sprintf("http://127.0.0.1:%d", ports[2*i+1]),
		}
		if c.TLS != nil {
			spec.CertFile, spec.KeyFile, spec.CAFile = c.TLS.ServerCert, c.TLS.ServerKey, c.TLS.CA
		}
		initial = append(initial, name+"="+spec.PeerURL)
		c.members = append(c.members, &Member{spec: spec, Addr: fmt.Sprintf("127.0.0.1:%d", ports[2*i])})
	}
	for _, m := range c.members {
		m.spec.InitialCluster = strings.Join(initial, ",")
	}
	return c, nil
}

// freePorts returns n distinct loopback ports that were free a moment ago.
func freePorts(n int) ([]int, error) {
	var lns []net.Listener
	defer func() {
		for _, ln := range lns {
			ln.Close()
		}
	}()
	var ports []int
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("etcdtest: free port: %w", err)
		}
		lns = append(lns, ln)
		ports = append(ports, ln.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// Members are the cluster's members, in order.
func (c *Cluster) Members() []*Member { return c.members }

// Endpoints are the members' client addresses (host:port).
func (c *Cluster) Endpoints() []string {
	var eps []string
	for _, m := range c.members {
		eps = append(eps, m.Addr)
	}
	return eps
}

// URL is the attestd store URL of prefix on this cluster.
func (c *Cluster) URL(prefix string) string {
	return "etcd://" + strings.Join(c.Endpoints(), ",") + "/" + prefix
}

// StartAll starts every member that is not running, together (a member
// becomes ready only once a quorum runs), and waits until they serve.
func (c *Cluster) StartAll() error {
	var wg sync.WaitGroup
	errs := make([]error, len(c.members))
	for i, m := range c.members {
		wg.Add(1)
		go func() { defer wg.Done(); errs[i] = m.Start() }()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// KillAll kills every member with SIGKILL and waits for them.
func (c *Cluster) KillAll() {
	for _, m := range c.members {
		m.Kill()
	}
}

// StopAll stops every member gracefully (SIGTERM).
func (c *Cluster) StopAll() {
	var wg sync.WaitGroup
	for _, m := range c.members {
		wg.Add(1)
		go func() { defer wg.Done(); m.Stop() }()
	}
	wg.Wait()
}

// Client returns a client of the cluster (with the client certificate
// under TLS), closed when the test ends.
func (c *Cluster) Client(t testing.TB) *clientv3.Client {
	t.Helper()
	cfg := clientv3.Config{Endpoints: c.Endpoints(), DialTimeout: 5 * time.Second, Logger: zap.NewNop()}
	if c.TLS != nil {
		tc, err := c.TLS.ClientConfig()
		if err != nil {
			t.Fatal(err)
		}
		cfg.TLS = tc
	}
	cli, err := clientv3.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cli.Close() })
	return cli
}

// Compact compacts the cluster's history up to its current revision (and
// waits for the compaction to be applied), so a watch from any older
// revision fails with ErrCompacted. It returns that revision.
func (c *Cluster) Compact(t testing.TB) int64 {
	t.Helper()
	cli := c.Client(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := cli.Get(ctx, "compact-probe")
	if err != nil {
		t.Fatalf("etcdtest: compact: %v", err)
	}
	rev := resp.Header.Revision
	if _, err := cli.Compact(ctx, rev, clientv3.WithCompactPhysical()); err != nil {
		t.Fatalf("etcdtest: compact to %d: %v", rev, err)
	}
	return rev
}

func (c *Cluster) dumpLogs() {
	for _, m := range c.members {
		if b, err := os.ReadFile(m.logPath()); err == nil {
			if len(b) > 8<<10 {
				b = b[len(b)-8<<10:]
			}
			c.t.Logf("etcd member %s log (tail):\n%s", m.spec.Name, b)
		}
	}
}
