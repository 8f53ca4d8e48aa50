package e2e

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/attestd/attestd/client"
	"github.com/attestd/attestd/crypto/envelope"
	"github.com/attestd/attestd/daemon"
	"github.com/attestd/attestd/internal/ctl"
	"github.com/attestd/attestd/internal/testenv"
	"github.com/attestd/attestd/internal/testenv/logbuf"
	"github.com/attestd/attestd/internal/testenv/poll"
)

// lifecycleCtl runs attestctl against the store and returns its stdout.
func lifecycleCtl(t *testing.T, s *testenv.Store, stdin string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var out, errb bytes.Buffer
	full := append([]string{"--store", s.URL}, args...)
	if code := (ctl.Config{}).Main(ctx, full, strings.NewReader(stdin), &out, &errb); code != ctl.ExitOK {
		t.Fatalf("attestctl %v: exit %d: %s", args, code, errb.String())
	}
	return out.String()
}

// eventually waits, polling, for at most 5 s until cond holds (nodes apply
// a store change within 2 s).
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	poll.Until(t, 5*time.Second, what, cond)
}

// isUnknown reports whether the verdict for app on e's node is the
// app_unknown answer, checking its shape (PROTOCOL.md §3) when it is.
func isUnknown(e *env, app string) bool {
	e.t.Helper()
	c := e.client(app)
	v := decodeVerdict(e.t, e.attest(c, e.body(c, e.nonce(c), client.Evidence{WantSecrets: true})))
	cl := unverifiedClaims(e.t, v.Token)
	if len(cl.Audience) == 0 || cl.Audience[0] != "unknown" {
		return false
	}
	checkUnknown(e.t, v, cl)
	if _, has := v.raw["secrets"]; has {
		e.t.Error("app_unknown answer carries secrets")
	}
	return true
}

// TestRemovedAppAndAccountAnswerUnknown: after `app remove` a running
// node answers the app's attests as an unknown app's (decoy token, no
// pins, no secrets); after `account remove` its other apps too, and its
// JWKS is not_found.
func TestRemovedAppAndAccountAnswerUnknown(t *testing.T) {
	f := testenv.NewFixture(t)
	s := testenv.NewStore(t, f)
	node := testenv.StartNode(t, s, testenv.Options{})
	e := &env{t: t, f: f, node: node, tr: http1()}
	for _, app := range []string{testenv.App, testenv.AppLenient, testenv.AppES} {
		if isUnknown(e, app) {
			t.Fatalf("%s unknown before removal", app)
		}
	}
	lifecycleCtl(t, s, "", "app", "remove", testenv.Account, testenv.App, "--yes")
	eventually(t, "the removed app answers app_unknown", func() bool { return isUnknown(e, testenv.App) })
	if isUnknown(e, testenv.AppLenient) {
		t.Fatal("another app of the account became unknown")
	}
	// The removed app's secret stays with the account, for its other app.
	c := e.client(testenv.AppLenient)
	res, err := c.Attest(context.Background(), client.Evidence{WantSecrets: true})
	if err != nil {
		t.Fatal(err)
	}
	if m, err := c.OpenSecrets(res); err != nil || m[testenv.SecretName] != testenv.SecretValue {
		t.Fatalf("lenient app secrets: %v %v", err, len(m))
	}

	if a := e.do("GET", "/v1/accounts/"+testenv.AccountES+"/jwks.json", "", nil, nil); a.status != 200 {
		t.Fatalf("jwks before removal: %d", a.status)
	}
	lifecycleCtl(t, s, "", "account", "remove", testenv.AccountES, "--yes")
	eventually(t, "the removed account's app answers app_unknown", func() bool { return isUnknown(e, testenv.AppES) })
	if a := e.do("GET", "/v1/accounts/"+testenv.AccountES+"/jwks.json", "", nil, nil); a.status != 404 || a.errorCode(t) != "not_found" {
		t.Fatalf("jwks of a removed account: %d %s", a.status, a.body)
	}
	lifecycleCtl(t, s, "", "account", "remove", testenv.Account, "--yes")
	eventually(t, "every app of the removed account answers app_unknown", func() bool {
		return isUnknown(e, testenv.AppLenient) && isUnknown(e, testenv.AppIOS)
	})
	if isUnknown(e, testenv.AppEd) {
		t.Fatal("an app of another account became unknown")
	}
}

// secretLoop attests with want_secrets against node until stop closes
// (at most maxRounds), counting the rounds whose secret was one of want.
type secretLoop struct {
	rounds, bad atomic.Int64
	mu          sync.Mutex
	firstErr    error
	want        atomic.Value // map[string]bool of accepted values
	stop        chan struct{}
	done        chan struct{}
}

func startSecretLoop(t *testing.T, e *env, want ...string) *secretLoop {
	t.Helper()
	const maxRounds = 20000
	l := &secretLoop{stop: make(chan struct{}), done: make(chan struct{})}
	l.accept(want...)
	c := e.client(testenv.App)
	go func() {
		defer close(l.done)
		for i := 0; i < maxRounds; i++ {
			select {
			case <-l.stop:
				return
			default:
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			err := l.round(ctx, c, e.f.HSKey)
			cancel()
			l.rounds.Add(1)
			if err != nil {
				l.bad.Add(1)
				l.mu.Lock()
				if l.firstErr == nil {
					l.firstErr = err
				}
				l.mu.Unlock()
			}
		}
	}()
	return l
}

func (l *secretLoop) accept(vals ...string) {
	m := map[string]bool{}
	for _, v := range vals {
		m[v] = true
	}
	l.want.Store(m)
}

func (l *secretLoop) round(ctx context.Context, c *client.Client, hsKey []byte) error {
	res, err := c.Attest(ctx, client.Evidence{WantSecrets: true})
	if err != nil {
		return err
	}
	if _, err := verifyHS(res.Token, hsKey, testenv.Account); err != nil {
		return fmt.Errorf("verdict did not pass: %w", err)
	}
	m, err := c.OpenSecrets(res)
	if err != nil {
		return err
	}
	if !l.want.Load().(map[string]bool)[m[testenv.SecretName]] {
		return fmt.Errorf("released an unexpected value for %s", testenv.SecretName)
	}
	return nil
}

// finish stops the loop and fails the test if any round failed.
func (l *secretLoop) finish(t *testing.T) {
	t.Helper()
	close(l.stop)
	select {
	case <-l.done:
	case <-time.After(30 * time.Second):
		t.Fatal("secret loop did not stop")
	}
	if n := l.rounds.Load(); n < 10 {
		t.Fatalf("only %d rounds ran", n)
	}
	if bad := l.bad.Load(); bad > 0 {
		t.Fatalf("%d of %d rounds failed; first: %v", bad, l.rounds.Load(), l.firstErr)
	}
	t.Logf("%d rounds, all released the secret", l.rounds.Load())
}

// waitRounds waits until the loop has run n more rounds (bounded).
func (l *secretLoop) waitRounds(t *testing.T, n int64) {
	t.Helper()
	target := l.rounds.Load() + n
	eventually(t, "the secret loop makes progress", func() bool { return l.rounds.Load() >= target })
}

func keyFileIDs(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	ks, err := envelope.ParseKeySet(b)
	if err != nil {
		t.Fatal(err)
	}
	return ks.IDs()
}

// TestMasterKeyRotationWithoutDowntime: the new key is listed first
// (master-key add) and the node started with it; then the re-seal commits
// while a client loop attests: every round releases the secret, and the
// node follows the store at once (a later secret change under the new key
// reaches it).
func TestMasterKeyRotationWithoutDowntime(t *testing.T) {
	f := testenv.NewFixture(t)
	s := testenv.NewStore(t, f)
	lifecycleCtl(t, s, "", "master-key", "add")
	node := testenv.StartNode(t, s, testenv.Options{})
	e := &env{t: t, f: f, node: node, tr: http1()}
	loop := startSecretLoop(t, e, testenv.SecretValue)
	loop.waitRounds(t, 5)
	out := lifecycleCtl(t, s, "", "master-key", "rotate", "--to", "m2")
	if !strings.Contains(out, "retired master key(s) m1") {
		t.Fatalf("rotate: %s", out)
	}
	loop.waitRounds(t, 20)
	const newValue = "sk_after_rotation_77d1"
	loop.accept(testenv.SecretValue, newValue)
	lifecycleCtl(t, s, newValue+"\n", "secret", "put", testenv.Account, testenv.SecretName)
	c := e.client(testenv.App)
	eventually(t, "the node releases the value written under the new key", func() bool {
		res, err := c.Attest(context.Background(), client.Evidence{WantSecrets: true})
		if err != nil {
			return false
		}
		m, err := c.OpenSecrets(res)
		return err == nil && m[testenv.SecretName] == newValue
	})
	loop.waitRounds(t, 5)
	loop.finish(t)
	if ids := keyFileIDs(t, filepath.Join(s.Dir, "master.key")); len(ids) != 1 || ids[0] != "m2" {
		t.Fatalf("key file lists %v", ids)
	}
	if st, _ := os.ReadFile(filepath.Join(s.Dir, "state.json")); bytes.Contains(st, []byte(`"v1:m1:`)) || !bytes.Contains(st, []byte(`"v1:m2:`)) {
		t.Fatal("the store still holds values sealed under m1")
	}
}

// TestMasterKeyOneShotRotationKeepsServing: rotate in one go under a node
// whose key file is a copy that keeps the old key only (a node the new
// file has not reached yet). The node cannot open the new state, so it
// keeps serving the state it has: every round still releases the secret.
// Restarted on the store's rotated key file, it serves the rotated store.
// (A node reading the rotated file follows at once:
// masterkey_reload_test.go.)
func TestMasterKeyOneShotRotationKeepsServing(t *testing.T) {
	f := testenv.NewFixture(t)
	s := testenv.NewStore(t, f)
	old, err := os.ReadFile(filepath.Join(s.Dir, "master.key"))
	if err != nil {
		t.Fatal(err)
	}
	stale := filepath.Join(t.TempDir(), "master.key")
	if err := os.WriteFile(stale, old, 0o600); err != nil {
		t.Fatal(err)
	}
	logs := &logbuf.Buffer{}
	node := testenv.StartNode(t, s, testenv.Options{Log: logs, Edit: func(c *daemon.Config) { c.MasterKey = stale }})
	e := &env{t: t, f: f, node: node, tr: http1()}
	loop := startSecretLoop(t, e, testenv.SecretValue)
	loop.waitRounds(t, 5)
	lifecycleCtl(t, s, "", "master-key", "rotate")
	logs.WaitFor(t, 10*time.Second, "store change not applied") // the node met the change it cannot open
	loop.waitRounds(t, 20)
	loop.finish(t)
	node.Stop(t)
	if !strings.Contains(logs.String(), "store change not applied") {
		t.Error("the node did not report the change it could not open")
	}
	if ids := keyFileIDs(t, filepath.Join(s.Dir, "master.key")); len(ids) != 1 || ids[0] != "m2" {
		t.Fatalf("key file lists %v", ids)
	}
	restarted := testenv.StartNode(t, s, testenv.Options{})
	e2 := &env{t: t, f: f, node: restarted, tr: http1()}
	loop = startSecretLoop(t, e2, testenv.SecretValue)
	loop.waitRounds(t, 10)
	loop.finish(t)
}
