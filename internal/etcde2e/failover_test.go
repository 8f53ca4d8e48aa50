package etcde2e

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/attestd/attestd/client"
	"github.com/attestd/attestd/internal/testenv"
	"github.com/attestd/attestd/internal/testenv/poll"
)

// leader returns the index of the cluster's leader.
func (d *deployment) leader(t testing.TB) int {
	t.Helper()
	cli := d.c.Client(t)
	for i, ep := range d.c.Endpoints() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		st, err := cli.Status(ctx, ep)
		cancel()
		if err == nil && st.Leader == st.Header.MemberId {
			return i
		}
	}
	t.Fatal("no leader")
	return -1
}

// awaitMember waits, for at most within, until member i answers and knows
// its leader: it has rejoined the cluster.
func (d *deployment) awaitMember(t testing.TB, i int, within time.Duration) {
	t.Helper()
	cli := d.c.Client(t)
	ep := d.c.Endpoints()[i]
	poll.Until(t, within, "member "+d.c.Members()[i].Name()+" rejoined", func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		st, err := cli.Status(ctx, ep)
		return err == nil && st.Leader != 0
	})
}

// loop runs attestations against every node until stop closes, and counts
// the ones that did not pass: an error, or a token that does not verify
// under the account's key (a failed verdict is signed by a decoy). It also
// checks that every node stays ready.
type loop struct {
	passed, failed atomic.Int64
	mu             sync.Mutex
	firstFailure   error
	wg             sync.WaitGroup
	stop           chan struct{}
}

func startLoop(t testing.TB, d *deployment, nodes []*testenv.Node) *loop {
	t.Helper()
	l := &loop{stop: make(chan struct{})}
	fail := func(err error) {
		l.failed.Add(1)
		l.mu.Lock()
		if l.firstFailure == nil {
			l.firstFailure = err
		}
		l.mu.Unlock()
	}
	for i, n := range nodes {
		c := newClient(t, d, n, testenv.App, nil)
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			for {
				select {
				case <-l.stop:
					return
				default:
				}
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				r, err := c.Attest(ctx, client.Evidence{})
				cancel()
				if err != nil {
					fail(fmt.Errorf("node %d: %w", i, err))
					continue
				}
				if _, err := jwt.Parse(r.Token, func(*jwt.Token) (any, error) { return d.f.HSKey, nil },
					jwt.WithValidMethods([]string{"HS256"}), jwt.WithAudience(testenv.Account)); err != nil {
					fail(fmt.Errorf("node %d: verdict did not pass: %w", i, err))
					continue
				}
				l.passed.Add(1)
			}
		}()
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			for {
				select {
				case <-l.stop:
					return
				case <-time.After(100 * time.Millisecond):
				}
				if code, body, err := readyzErr(n); err != nil || code != 200 {
					fail(fmt.Errorf("node %d not ready: %d %s %v", i, code, body, err))
				}
			}
		}()
	}
	return l
}

func (l *loop) end(t testing.TB) {
	t.Helper()
	close(l.stop)
	l.wg.Wait()
	if n := l.failed.Load(); n > 0 {
		t.Fatalf("%d failures (first: %v) beside %d passes", n, l.firstFailure, l.passed.Load())
	}
}

// TestMemberKilledDuringTraffic: the etcd leader is killed (SIGKILL) and
// restarted while clients attest on every node without pause: no
// attestation fails and every node stays ready, and a ban written while
// the member is down still reaches every node.
func TestMemberKilledDuringTraffic(t *testing.T) {
	d := newDeployment(t)
	var nodes []*testenv.Node
	for range 3 {
		nodes = append(nodes, d.startNode(t, d.url, filepath.Join(t.TempDir(), "snapshot.json")))
	}
	l := startLoop(t, d, nodes)
	poll.Until(t, 10*time.Second, "traffic on every node", func() bool { return l.passed.Load() > 2*int64(len(nodes)) })

	victim := d.leader(t)
	m := d.c.Members()[victim]
	m.Kill()
	t.Logf("killed member %s (the leader) after %d attestations", m.Name(), l.passed.Load())
	banned := deviceKey(t)
	did := newClient(t, d, nodes[0], testenv.App, banned).DID()
	// Reaches the two members left, through a new election (which a loaded
	// machine may drag past attestctl's request timeout).
	d.ctlRetry(t, 30*time.Second, "", "ban", "add", "--", did) // "--": a did may begin with "-"
	for i, n := range nodes {
		c := newClient(t, d, n, testenv.App, banned)
		poll.Until(t, 30*time.Second, fmt.Sprintf("node %d applies the ban written with a member down", i), func() bool {
			v, err := attest(context.Background(), c)
			return err == nil && v.Arc == "device_banned"
		})
	}
	if err := m.Start(); err != nil {
		t.Fatal(err)
	}
	d.awaitMember(t, victim, 30*time.Second) // traffic and readiness keep being checked while it rejoins
	passedBefore := l.passed.Load()
	poll.Until(t, 10*time.Second, "attestations pass after the restart", func() bool {
		return l.passed.Load() > passedBefore+int64(len(nodes))
	})
	l.end(t)
	t.Logf("%d attestations passed, none failed, across the kill and restart of %s", l.passed.Load(), m.Name())
}
