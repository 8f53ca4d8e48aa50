package e2e

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/attestd/attestd/client"
	"github.com/attestd/attestd/internal/ctl"
	"github.com/attestd/attestd/internal/model"
	"github.com/attestd/attestd/internal/state"
	"github.com/attestd/attestd/internal/testenv"
	"github.com/attestd/attestd/internal/testenv/poll"
	"github.com/attestd/attestd/internal/try"
)

// monClaims are the §3 and §11 claims as golang-jwt reads them.
type monClaims struct {
	jwt.RegisteredClaims
	Arc *string `json:"arc"`
	Mon *bool   `json:"mon"`
	Dbg *string `json:"dbg"`
}

// verifyMon checks tok with golang-jwt (HS256 pinned) and the account's
// key; real is false when only the signature fails (a decoy), and the
// claims are then read unverified.
func verifyMon(t *testing.T, tok string, key []byte) (real bool, c monClaims) {
	t.Helper()
	_, err := jwt.ParseWithClaims(tok, &c, func(*jwt.Token) (any, error) { return key, nil },
		jwt.WithValidMethods([]string{"HS256"}), jwt.WithAudience(testenv.Account), jwt.WithIssuer("attestd"), jwt.WithExpirationRequired())
	if err == nil {
		return true, c
	}
	if !errors.Is(err, jwt.ErrTokenSignatureInvalid) {
		t.Fatalf("token: %v", err)
	}
	c = monClaims{}
	if _, _, err := jwt.NewParser().ParseUnverified(tok, &c); err != nil {
		t.Fatal(err)
	}
	return false, c
}

// within waits, at most 2 s (the contract for a store change to reach
// every node), for ok to hold; it polls, never sleeps a fixed time before
// looking.
func within(t *testing.T, what string, ok func() bool) {
	t.Helper()
	poll.Until(t, 2*time.Second, what+" applied", ok)
}

// ctlOut runs attestctl on s and returns stdout; it fails the test unless
// the exit code is 0.
func ctlOut(t *testing.T, s *testenv.Store, args ...string) string {
	t.Helper()
	var out, errb bytes.Buffer
	if code := (ctl.Config{}).Main(context.Background(), append([]string{"--store", s.URL}, args...), strings.NewReader(""), &out, &errb); code != 0 {
		t.Fatalf("attestctl %v: exit %d: %s", args, code, errb.String())
	}
	return out.String()
}

// rollout is §11's rollout over two nodes of one store: per node, a
// client, and the rooted and hooked evidence it sends.
type rollout struct {
	t     *testing.T
	f     *testenv.Fixture
	s     *testenv.Store
	nodes []*env
	cs    []*client.Client
}

var rootedHooked = client.Evidence{WantSecrets: true, Integrity: client.Integrity{Rooted: true, Hooked: true}}

// attest sends rooted and hooked evidence to node i: real is whether the
// account's key verifies the token.
func (r *rollout) attest(i int) (bool, monClaims, verdict) {
	e, c := r.nodes[i], r.cs[i]
	v := decodeVerdict(r.t, e.attest(c, e.body(c, e.nonce(c), rootedHooked)))
	real, cl := verifyMon(r.t, v.Token, r.f.HSKey)
	return real, cl, v
}

// switched waits until every node gives a real token to the rooted client
// (monitor) or a decoy (enforce), at most 2 s from its call, which the
// caller makes as soon as the command that switched returned: the bound
// §11 sets for every node. A node once seen switched is not asked again.
func (r *rollout) switched(what string, monitor bool) {
	r.t.Helper()
	done := make([]bool, len(r.nodes))
	within(r.t, what+" on every node", func() bool {
		all := true
		for i := range r.nodes {
			if !done[i] {
				real, _, _ := r.attest(i)
				done[i] = real == monitor
			}
			all = all && done[i]
		}
		return all
	})
}

// monitoring checks, on every node, a monitor-mode answer: the rooted
// client's token verifies, says mon and arc, and comes with no secrets
// (but pins); a passing client's token says mon and gets its secrets.
func (r *rollout) monitoring() {
	r.t.Helper()
	for i, e := range r.nodes {
		real, cl, v := r.attest(i)
		if !real || cl.Mon == nil || !*cl.Mon || deref(cl.Arc) != "rooted,hooked" || cl.Subject != testenv.App {
			r.t.Fatalf("node %d: monitor-mode failure: real %v mon %v arc %v sub %q", i, real, cl.Mon, deref(cl.Arc), cl.Subject)
		}
		if _, has := v.raw["secrets"]; has || len(v.Pins) == 0 {
			r.t.Fatalf("node %d: monitor-mode failure answer: %v", i, v.raw)
		}
		c := r.cs[i]
		pass := decodeVerdict(r.t, e.attest(c, e.body(c, e.nonce(c), client.Evidence{WantSecrets: true})))
		if real, pc := verifyMon(r.t, pass.Token, r.f.HSKey); !real || pc.Mon == nil || deref(pc.Arc) != "" || pass.Secrets == "" {
			r.t.Fatalf("node %d: monitor-mode pass: real %v mon %v arc %v secrets %v", i, real, pc.Mon, deref(pc.Arc), pass.Secrets != "")
		}
	}
}

// enforcing checks, on every node, that the rooted client gets a decoy
// with arc and no mon.
func (r *rollout) enforcing() {
	r.t.Helper()
	for i := range r.nodes {
		if real, cl, _ := r.attest(i); real || cl.Mon != nil || deref(cl.Arc) != "rooted,hooked" {
			r.t.Fatalf("node %d: enforce-mode failure: real %v mon %v arc %v", i, real, cl.Mon, deref(cl.Arc))
		}
	}
}

// importEnforcement writes a bundle of the app with the given enforcement
// to a file and imports it with attestctl import FILE.
func (r *rollout) importEnforcement(mode string) {
	r.t.Helper()
	b := &model.Bundle{}
	for _, a := range r.f.Bundle.Apps {
		if a.ID == testenv.App {
			a.Policy.Enforcement = mode
			b.Apps = append(b.Apps, a)
		}
	}
	js, err := state.MarshalRevealed(b)
	if err != nil {
		r.t.Fatal(err)
	}
	file := filepath.Join(r.t.TempDir(), "enforcement-"+mode+".json")
	if err := os.WriteFile(file, js, 0o600); err != nil {
		r.t.Fatal(err)
	}
	ctlOut(r.t, r.s, "import", file)
}

// runMonitorRollout is the rollout of §11 over one transport, on two
// nodes of one store: an app put in monitor mode with attestctl; its
// rooted and hooked client gets, from either node, a token that the
// account's key verifies, with mon and arc (the account annotates, but
// monitor mode would say them anyway), and no secrets though it asks;
// switched to enforce with attestctl, the same client gets a decoy from
// both nodes within 2 s of the command; and the same both ways by
// attestctl import of a bundle that sets the app's enforcement.
func runMonitorRollout(t *testing.T, tr Transport, o testenv.Options) {
	f := testenv.NewFixture(t)
	s := testenv.NewStore(t, f)
	r := &rollout{t: t, f: f, s: s}
	for range 2 {
		e := &env{t: t, f: f, node: testenv.StartNode(t, s, o), tr: tr}
		r.nodes, r.cs = append(r.nodes, e), append(r.cs, e.client(testenv.App))
	}
	r.enforcing()
	ctlOut(t, s, "app", "enforcement", testenv.App, "monitor")
	r.switched("attestctl app enforcement monitor", true)
	r.monitoring()
	ctlOut(t, s, "app", "enforcement", testenv.App, "enforce")
	r.switched("attestctl app enforcement enforce", false)
	r.enforcing()
	r.importEnforcement(model.EnforcementMonitor)
	r.switched("attestctl import of a monitor-mode bundle", true)
	r.monitoring()
	r.importEnforcement(model.EnforcementEnforce)
	r.switched("attestctl import of an enforce-mode bundle", false)
	r.enforcing()
}

func TestMonitorModeRolloutHTTP1(t *testing.T) { runMonitorRollout(t, http1(), testenv.Options{}) }

func TestMonitorModeRolloutHTTP3(t *testing.T) {
	tr, o := http3(t)
	runMonitorRollout(t, tr, o)
}

// debugBuild is a debug build of app on an emulator, configured with the
// debug token tok: another signer and code than the registered ones. Its
// evidence (onEmulator) has every integrity flag the SDK has and no
// platform attestation.
func debugBuild(t *testing.T, e *env, app, tok string) *client.Client {
	t.Helper()
	other := sha256.Sum256([]byte("debug keystore"))
	a := e.f.ClientApp(app)
	a.Signer, a.CodeDigest = other[:], other[:]
	c, err := client.New(client.Config{BaseURL: e.base(), App: a, HTTP: e.tr.HTTP, Now: e.node.Clock.Now, DebugToken: tok})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

var onEmulator = client.Evidence{WantSecrets: true, Integrity: client.Integrity{Rooted: true, Debugger: true, Hooked: true, Emulator: true}}

// TestDebugTokensAcrossNodes: over two nodes of one store, a debug token
// made with attestctl lets a build with the wrong signer and measurement
// pass (dbg, no secrets without --secrets), on both nodes; after revoke it
// fails with debug_token_invalid on the other node too; a token of another
// app and an expired one (the node's clock moved) fail; attestctl try
// sends one.
func TestDebugTokensAcrossNodes(t *testing.T) {
	f := testenv.NewFixture(t)
	s := testenv.NewStore(t, f)
	a := testenv.StartNode(t, s, testenv.Options{})
	b := testenv.StartNode(t, s, testenv.Options{})
	ea := &env{t: t, f: f, node: a, tr: http1()}
	eb := &env{t: t, f: f, node: b, tr: http1()}
	tok := strings.TrimSpace(ctlOut(t, s, "debug-token", "add", testenv.Account, testenv.App, "ci-runner"))
	lenient := strings.TrimSpace(ctlOut(t, s, "debug-token", "add", testenv.Account, testenv.AppLenient, "lenient-ci", "--secrets"))
	short := strings.TrimSpace(ctlOut(t, s, "debug-token", "add", testenv.Account, testenv.App, "short", "--ttl", "1m"))

	verdictOn := func(e *env, app, tok string) (bool, monClaims, verdict) {
		c := debugBuild(t, e, app, tok)
		v := decodeVerdict(t, e.attest(c, e.body(c, e.nonce(c), onEmulator)))
		real, cl := verifyMon(t, v.Token, f.HSKey)
		return real, cl, v
	}
	for _, e := range []*env{ea, eb} {
		within(t, "debug-token add", func() bool { real, _, _ := verdictOn(e, testenv.App, tok); return real })
		_, cl, v := verdictOn(e, testenv.App, tok)
		if deref(cl.Dbg) != "ci-runner" || deref(cl.Arc) != "" || cl.Mon != nil {
			t.Fatalf("debug pass: dbg %v arc %v mon %v", deref(cl.Dbg), deref(cl.Arc), cl.Mon)
		}
		if _, has := v.raw["secrets"]; has {
			t.Fatal("secrets released to a debug token made without --secrets")
		}
	}
	if _, _, v := verdictOn(ea, testenv.AppLenient, lenient); v.Secrets == "" {
		t.Fatal("no secrets for a debug token made with --secrets")
	}
	if real, cl, _ := verdictOn(ea, testenv.App, lenient); real || !strings.HasPrefix(fmt.Sprint(deref(cl.Arc)), "debug_token_invalid,") {
		t.Fatalf("another app's debug token: real %v arc %v", real, deref(cl.Arc))
	}
	var out bytes.Buffer
	if code := (ctl.Config{Try: try.Main}).Main(context.Background(), []string{"--store", s.URL, "try", "--url", a.Base, "--app", testenv.App, "--debug-token", tok, "--rooted"},
		strings.NewReader(""), &out, &out); code != 0 ||
		!strings.Contains(out.String(), "verdict: PASSED") || !strings.Contains(out.String(), `made with debug token "ci-runner"`) || strings.Contains(out.String(), tok) {
		t.Fatalf("attestctl try --debug-token: exit %d\n%s", code, out.String())
	}

	ctlOut(t, s, "debug-token", "revoke", testenv.Account, testenv.App, "ci-runner")
	within(t, "debug-token revoke on the second node", func() bool { real, _, _ := verdictOn(eb, testenv.App, tok); return !real })
	if _, cl, _ := verdictOn(eb, testenv.App, tok); !strings.HasPrefix(fmt.Sprint(deref(cl.Arc)), "debug_token_invalid,signer_mismatch,") || cl.Dbg != nil {
		t.Fatalf("revoked token: arc %v dbg %v", deref(cl.Arc), deref(cl.Dbg))
	}
	if real, _, _ := verdictOn(ea, testenv.App, tok); real {
		t.Fatal("the revoked token still passes on the first node")
	}

	if real, _, _ := verdictOn(ea, testenv.App, short); !real {
		t.Fatal("a live one-minute token fails")
	}
	a.Clock.Advance(61 * time.Second)
	if real, cl, _ := verdictOn(ea, testenv.App, short); real || !strings.HasPrefix(fmt.Sprint(deref(cl.Arc)), "debug_token_invalid,") {
		t.Fatalf("expired token: real %v arc %v", real, deref(cl.Arc))
	}
}
