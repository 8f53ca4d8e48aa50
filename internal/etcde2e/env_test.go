package etcde2e

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/attestd/attestd/client"
	"github.com/attestd/attestd/crypto/envelope"
	"github.com/attestd/attestd/daemon"
	"github.com/attestd/attestd/internal/ctl"
	"github.com/attestd/attestd/internal/etcdtest"
	"github.com/attestd/attestd/internal/model"
	"github.com/attestd/attestd/internal/state"
	"github.com/attestd/attestd/internal/testenv"
	"github.com/attestd/attestd/internal/testenv/poll"
	"github.com/attestd/attestd/store/open"
)

// prefix is the etcd key prefix of the test deployment.
const prefix = "attestd"

// deployment is a 3-member etcd cluster holding the test registry, and the
// master key file every node and attestctl share.
type deployment struct {
	c   *etcdtest.Cluster
	f   *testenv.Fixture
	key string
	url string
}

// newDeployment starts the cluster and fills it the way an operator would:
// attestctl init, then attestctl import of the fixture's bundle.
func newDeployment(t testing.TB) *deployment {
	t.Helper()
	c := etcdtest.Start(t, etcdtest.Options{Members: 3})
	d := &deployment{c: c, f: testenv.NewFixture(t), url: c.URL(prefix)}
	kf, err := envelope.NewKeyFile(open.MasterKeyID, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	d.key = filepath.Join(t.TempDir(), "master.key")
	if err := os.WriteFile(d.key, kf, 0o600); err != nil {
		t.Fatal(err)
	}
	d.ctl(t, "", "init")
	d.importBundle(t, d.f.Bundle)
	return d
}

// ctl runs attestctl against the deployment, as an operator would.
func (d *deployment) ctl(t testing.TB, stdin string, args ...string) string {
	t.Helper()
	out, errs, code := d.runCtl(stdin, args...)
	if code != 0 {
		t.Fatalf("attestctl %v: exit %d: %s", args, code, errs)
	}
	return out
}

// ctlRetry is ctl for a change made while etcd recovers (a new election,
// members restarted): as an operator would, it runs the command again
// while attestctl says the store is unavailable, up to within; any other
// failure fails at once. The command must be idempotent.
func (d *deployment) ctlRetry(t testing.TB, within time.Duration, stdin string, args ...string) string {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		out, errs, code := d.runCtl(stdin, args...)
		if code == 0 {
			return out
		}
		if !strings.Contains(errs, "unavailable") || time.Now().After(deadline) {
			t.Fatalf("attestctl %v: exit %d: %s", args, code, errs)
		}
		t.Logf("attestctl %v: exit %d, again once etcd has a leader: %s", args, code, strings.TrimSpace(errs))
		d.awaitLeader(t, time.Until(deadline))
	}
}

// awaitLeader waits, for at most within, until a member of the cluster
// knows its leader (an election is over).
func (d *deployment) awaitLeader(t testing.TB, within time.Duration) {
	t.Helper()
	cli := d.c.Client(t)
	poll.Until(t, within, "an etcd leader", func() bool {
		for _, ep := range d.c.Endpoints() {
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			st, err := cli.Status(ctx, ep)
			cancel()
			if err == nil && st.Leader != 0 {
				return true
			}
		}
		return false
	})
}

func (d *deployment) runCtl(stdin string, args ...string) (stdout, stderr string, code int) {
	var out, errb bytes.Buffer
	full := append([]string{"--store", d.url, "--master-key", d.key}, args...)
	code = (ctl.Config{}).Main(context.Background(), full, strings.NewReader(stdin), &out, &errb)
	return out.String(), errb.String(), code
}

// importBundle runs `attestctl import -` with b (secrets in clear).
func (d *deployment) importBundle(t testing.TB, b *model.Bundle) {
	t.Helper()
	js, err := state.MarshalRevealed(b)
	if err != nil {
		t.Fatal(err)
	}
	d.ctl(t, string(js), "import", "-")
}

// startNode runs attestd on the store at url (the cluster, or a partition
// of it) with its own snapshot file.
func (d *deployment) startNode(t testing.TB, url, snapshot string) *testenv.Node {
	t.Helper()
	return testenv.StartNode(t, &testenv.Store{URL: url}, testenv.Options{Edit: func(cfg *daemon.Config) {
		cfg.Store, cfg.MasterKey, cfg.Snapshot = url, d.key, snapshot
	}})
}

// account returns a copy of the fixture's account id.
func (d *deployment) account(t testing.TB, id string) model.Account {
	t.Helper()
	for _, a := range d.f.Bundle.Accounts {
		if a.ID == id {
			a.Keys = append([]model.Key(nil), a.Keys...)
			a.Secrets = append([]model.Secret(nil), a.Secrets...)
			return a
		}
	}
	t.Fatalf("no account %q in the fixture", id)
	return model.Account{}
}

// newClient returns a client of app on node, with device key dev (nil: a
// fresh one).
func newClient(t testing.TB, d *deployment, n *testenv.Node, app string, dev *ecdsa.PrivateKey) *client.Client {
	t.Helper()
	c, err := client.New(client.Config{BaseURL: n.Base, App: d.f.ClientApp(app), DeviceKey: dev, Now: n.Clock.Now,
		HTTP: &http.Client{Timeout: 5 * time.Second}})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func deviceKey(t testing.TB) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// verdict is what a test reads from an attestation answer.
type verdict struct {
	Token   string
	KID     string
	Arc     string // the token's "arc" claim ("" when absent)
	Secrets map[string]string
}

// attest runs one attestation (asking for secrets) and reads the token
// without verifying it (tests verify separately where it matters).
func attest(ctx context.Context, c *client.Client) (verdict, error) {
	r, err := c.Attest(ctx, client.Evidence{WantSecrets: true})
	if err != nil {
		return verdict{}, err
	}
	v := verdict{Token: r.Token}
	parts := strings.Split(r.Token, ".")
	if len(parts) == 3 {
		var h struct {
			KID string `json:"kid"`
		}
		var cl struct {
			Arc string `json:"arc"`
		}
		if b, err := base64.RawURLEncoding.DecodeString(parts[0]); err == nil {
			_ = json.Unmarshal(b, &h)
		}
		if b, err := base64.RawURLEncoding.DecodeString(parts[1]); err == nil {
			_ = json.Unmarshal(b, &cl)
		}
		v.KID, v.Arc = h.KID, cl.Arc
	}
	if r.Secrets != "" {
		if v.Secrets, err = c.OpenSecrets(r); err != nil {
			return v, err
		}
	}
	return v, nil
}

// readyz returns a node's /readyz status and body.
func readyz(t testing.TB, n *testenv.Node) (int, string) {
	t.Helper()
	code, body, err := readyzErr(n)
	if err != nil {
		t.Fatalf("readyz: %v", err)
	}
	return code, body
}

// readyzErr is readyz for goroutines other than the test's.
func readyzErr(n *testenv.Node) (int, string, error) {
	hc := &http.Client{Timeout: 5 * time.Second}
	resp, err := hc.Get(n.Admin + "/readyz")
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}
