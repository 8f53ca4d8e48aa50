package etcde2e

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/attestd/attestd/internal/etcdtest"
	"github.com/attestd/attestd/internal/testenv"
	"github.com/attestd/attestd/internal/testenv/poll"
)

// passes runs one attestation on n and checks the token verifies under the
// account's key (a failed verdict is signed by a decoy).
func (d *deployment) passes(t testing.TB, n *testenv.Node, what string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	v, err := attest(ctx, newClient(t, d, n, testenv.App, nil))
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	if _, err := jwt.Parse(v.Token, func(*jwt.Token) (any, error) { return d.f.HSKey, nil },
		jwt.WithValidMethods([]string{"HS256"}), jwt.WithAudience(testenv.Account)); err != nil {
		t.Fatalf("%s: verdict did not pass: %v", what, err)
	}
	if v.Secrets[testenv.SecretName] == "" {
		t.Fatalf("%s: no secret released", what)
	}
}

// TestEtcdOutage: with etcd fully stopped, the nodes keep serving and say
// "degraded" in a 200 /readyz; a node restarted meanwhile serves from its
// snapshot (and turns 503 once its data is older than --max-staleness);
// when etcd is back, changes made and compacted away while the nodes were
// still cut off reach every node.
func TestEtcdOutage(t *testing.T) {
	d := newDeployment(t)
	var nodes []*testenv.Node
	var parts []*etcdtest.Partition
	var snaps []string
	for range 3 {
		pt := d.c.Partition(t)
		p := filepath.Join(t.TempDir(), "snapshot.json")
		parts, snaps = append(parts, pt), append(snaps, p)
		nodes = append(nodes, d.startNode(t, pt.URL(prefix), p))
	}
	for i, n := range nodes {
		if code, body := readyz(t, n); code != 200 || strings.Contains(body, "degraded") {
			t.Fatalf("node %d before the outage: %d %s", i, code, body)
		}
	}

	d.c.KillAll()
	start := time.Now()
	for i, n := range nodes {
		d.passes(t, n, fmt.Sprintf("node %d with etcd stopped", i))
	}
	for i, n := range nodes {
		poll.Until(t, 15*time.Second, fmt.Sprintf("node %d says degraded", i), func() bool {
			code, body := readyz(t, n)
			return code == 200 && strings.Contains(body, "degraded")
		})
	}
	t.Logf("all nodes degraded (and serving) %v after etcd stopped", time.Since(start).Truncate(time.Millisecond))

	// A node restarted while etcd is away serves its snapshot.
	nodes[2].Stop(t)
	nodes[2] = d.startNode(t, parts[2].URL(prefix), snaps[2])
	d.passes(t, nodes[2], "node restarted from its snapshot")
	if code, body := readyz(t, nodes[2]); code != 200 || !strings.Contains(body, "degraded") || !strings.Contains(body, "snapshot") {
		t.Fatalf("restarted node: %d %s", code, body)
	}
	nodes[2].Clock.Advance(16 * time.Minute) // past the default --max-staleness of 15m
	if code, body := readyz(t, nodes[2]); code != 503 || !strings.Contains(body, "stale") {
		t.Fatalf("data older than --max-staleness: %d %s", code, body)
	}

	// etcd comes back while the nodes are still cut off; changes are made
	// and the history they would resume from is compacted away.
	for _, pt := range parts {
		pt.Cut()
	}
	if err := d.c.StartAll(); err != nil {
		t.Fatal(err)
	}
	banned := deviceKey(t)
	d.ctlRetry(t, 30*time.Second, "", "ban", "add", "--", newClient(t, d, nodes[0], testenv.App, banned).DID()) // "--": a did may begin with "-"
	d.ctlRetry(t, 30*time.Second, "after-the-outage", "secret", "put", testenv.Account, testenv.SecretName, "--apps", testenv.App+","+testenv.AppLenient)
	rev := d.c.Compact(t)
	t.Logf("changes written and history compacted up to revision %d while the nodes were away", rev)
	for _, pt := range parts {
		pt.Restore()
	}
	back := time.Now()
	for i, n := range nodes {
		probe, victim := newClient(t, d, n, testenv.App, nil), newClient(t, d, n, testenv.App, banned)
		poll.Until(t, 20*time.Second, fmt.Sprintf("node %d catches up", i), func() bool {
			v, err := attest(context.Background(), probe)
			b, berr := attest(context.Background(), victim)
			return err == nil && berr == nil && v.Secrets[testenv.SecretName] == "after-the-outage" && b.Arc == "device_banned"
		})
		poll.Until(t, 10*time.Second, fmt.Sprintf("node %d ready, not degraded", i), func() bool {
			code, body := readyz(t, n)
			return code == 200 && !strings.Contains(body, "degraded")
		})
	}
	t.Logf("every node caught up %v after reconnection", time.Since(back).Truncate(time.Millisecond))
}
