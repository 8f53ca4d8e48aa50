package etcde2e

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/attestd/attestd/crypto/secret"
	"github.com/attestd/attestd/internal/model"
	"github.com/attestd/attestd/internal/testenv"
	"github.com/attestd/attestd/internal/testenv/poll"
	"github.com/attestd/attestd/store/snapshotfile"
)

// TestImportReachesEveryNode: three nodes on one etcd cluster; one
// `attestctl import` rotates an account's key, adds a secret and bans a
// device; every node shows all three within 2 s (PROTOCOL.md §8), polled
// over HTTP with the Go client. The import is one etcd transaction, and
// the nodes' snapshot files hold no secret in clear.
func TestImportReachesEveryNode(t *testing.T) {
	d := newDeployment(t)
	var nodes []*testenv.Node
	var snaps []string
	for range 3 {
		p := filepath.Join(t.TempDir(), "snapshot.json")
		snaps = append(snaps, p)
		nodes = append(nodes, d.startNode(t, d.url, p))
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	victim := deviceKey(t)
	for i, n := range nodes {
		v, err := attest(ctx, newClient(t, d, n, testenv.App, nil))
		if err != nil || v.KID != testenv.KIDHS || v.Secrets[testenv.SecretName] != testenv.SecretValue {
			t.Fatalf("node %d before the import: %+v %v", i, v, err)
		}
		if v, err := attest(ctx, newClient(t, d, n, testenv.App, victim)); err != nil || v.Arc == "device_banned" {
			t.Fatalf("node %d bans the victim already: %+v %v", i, v, err)
		}
	}

	// One bundle: k2 becomes acme's active key (k1 stays to verify), a new
	// secret for the app, the victim's device banned.
	acme := d.account(t, testenv.Account)
	acme.Keys[0].Status = model.StatusVerify
	k2 := make([]byte, 32)
	_, _ = rand.Read(k2)
	k2b64 := base64.StdEncoding.EncodeToString(k2)
	acme.Keys = append(acme.Keys, model.Key{KID: "k2", Alg: model.AlgHS256, Status: model.StatusActive, Secret: secret.FromString(k2b64)})
	fresh := "fresh-" + base64.RawURLEncoding.EncodeToString(k2[:9])
	acme.Secrets = append(acme.Secrets, model.Secret{Name: "fresh_key", Value: secret.FromString(fresh), Apps: []string{testenv.App}})
	bans := &model.Bans{Devices: append(slices.Clone(d.f.Bundle.Bans.Devices), newClient(t, d, nodes[0], testenv.App, victim).DID())}

	start := time.Now()
	d.importBundle(t, &model.Bundle{Accounts: []model.Account{acme}, Bans: bans})
	imported := time.Since(start)

	seen := make([]time.Duration, len(nodes))
	errs := make([]error, len(nodes))
	var wg sync.WaitGroup
	for i, n := range nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			probe, banned := newClient(t, d, n, testenv.App, nil), newClient(t, d, n, testenv.App, victim)
			var v, b verdict
			var err, berr error
			if !poll.For(time.Until(start.Add(2*time.Second)), func() bool {
				v, err = attest(ctx, probe)
				b, berr = attest(ctx, banned)
				return err == nil && berr == nil && v.KID == "k2" && v.Secrets["fresh_key"] == fresh && b.Arc == "device_banned"
			}) {
				errs[i] = fmt.Errorf("not all applied within 2 s of the import: kid %q, fresh secret %v, victim arc %q (%v, %v)",
					v.KID, v.Secrets["fresh_key"] == fresh, b.Arc, err, berr)
				return
			}
			seen[i] = time.Since(start)
			if _, err := jwt.Parse(v.Token, func(*jwt.Token) (any, error) { return k2, nil },
				jwt.WithValidMethods([]string{"HS256"}), jwt.WithAudience(testenv.Account)); err != nil {
				errs[i] = fmt.Errorf("token under k2 does not verify: %w", err)
			}
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("node %d: %v", i, err)
		}
	}
	t.Logf("attestctl import took %v; the nodes answered with the new state %v after the import started", imported, seen)

	// The import was one transaction: both records share one revision.
	raw := d.c.Client(t)
	acct, err := raw.Get(ctx, prefix+"/accounts/"+testenv.Account)
	if err != nil {
		t.Fatal(err)
	}
	banKV, err := raw.Get(ctx, prefix+"/bans")
	if err != nil {
		t.Fatal(err)
	}
	rev := acct.Kvs[0].ModRevision
	if banKV.Kvs[0].ModRevision != rev {
		t.Errorf("account written at %d, bans at %d: not one transaction", rev, banKV.Kvs[0].ModRevision)
	}

	// attestctl reads through etcd too: its export (secrets revealed),
	// imported again, changes nothing: not one revision.
	exported := d.ctl(t, "", "export", "--reveal-secrets")
	before, err := raw.Get(ctx, prefix+"/bans")
	if err != nil {
		t.Fatal(err)
	}
	d.ctl(t, exported, "import", "-")
	if after, err := raw.Get(ctx, prefix+"/bans"); err != nil || after.Header.Revision != before.Header.Revision {
		t.Errorf("re-importing the export wrote something: revision %d → %v (%v)", before.Header.Revision, after, err)
	}

	// The snapshot files follow, sealed as at rest: no secret in clear.
	needles := []string{fresh, k2b64, testenv.SecretValue, base64.StdEncoding.EncodeToString(d.f.HSKey)}
	for i, p := range snaps {
		poll.Until(t, 10*time.Second, fmt.Sprintf("node %d snapshot at revision %d", i, rev), func() bool {
			f, err := snapshotfile.Read(p, "etcd prefix "+prefix)
			return err == nil && f.Snapshot.Revision >= rev
		})
		b, _ := os.ReadFile(p)
		for _, s := range needles {
			if strings.Contains(string(b), s) {
				t.Errorf("node %d snapshot holds a secret in clear", i)
			}
		}
	}
}
