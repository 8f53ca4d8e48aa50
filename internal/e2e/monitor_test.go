package e2e

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/attestd/attestd/client"
	"github.com/attestd/attestd/internal/ctl"
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

// runMonitorRollout is the rollout of §11 over one transport: an app put
// in monitor mode with attestctl; its rooted and hooked client gets a
// token that the account's key verifies, with mon and arc (the account
// annotates, but monitor mode would say them anyway), and no secrets
// though it asks; switched to enforce with attestctl, the same client gets
// a decoy within 2 s.
func runMonitorRollout(t *testing.T, tr Transport, o testenv.Options) {
	f := testenv.NewFixture(t)
	s := testenv.NewStore(t, f)
	node := testenv.StartNode(t, s, o)
	e := &env{t: t, f: f, node: node, tr: tr}
	c := e.client(testenv.App)
	rooted := client.Evidence{WantSecrets: true, Integrity: client.Integrity{Rooted: true, Hooked: true}}
	attest := func() (bool, monClaims, verdict) {
		v := decodeVerdict(t, e.attest(c, e.body(c, e.nonce(c), rooted)))
		real, cl := verifyMon(t, v.Token, f.HSKey)
		return real, cl, v
	}
	if real, cl, _ := attest(); real || cl.Mon != nil {
		t.Fatal("enforce mode: a rooted client's token verifies or has mon")
	}
	ctlOut(t, s, "app", "enforcement", testenv.App, "monitor")
	var cl monClaims
	var v verdict
	within(t, "monitor mode", func() bool {
		var real bool
		real, cl, v = attest()
		return real
	})
	if cl.Mon == nil || !*cl.Mon || cl.Arc == nil || *cl.Arc != "rooted,hooked" || cl.Subject != testenv.App {
		t.Fatalf("monitor-mode failure: mon %v arc %v sub %q", cl.Mon, deref(cl.Arc), cl.Subject)
	}
	if _, has := v.raw["secrets"]; has || len(v.Pins) == 0 {
		t.Fatalf("monitor-mode failure answer: %v", v.raw)
	}
	pass := decodeVerdict(t, e.attest(c, e.body(c, e.nonce(c), client.Evidence{WantSecrets: true})))
	if real, pc := verifyMon(t, pass.Token, f.HSKey); !real || pc.Mon == nil || deref(pc.Arc) != "" || pass.Secrets == "" {
		t.Fatalf("monitor-mode pass: real %v mon %v arc %v secrets %v", real, pc.Mon, deref(pc.Arc), pass.Secrets != "")
	}
	ctlOut(t, s, "app", "enforcement", testenv.App, "enforce")
	within(t, "enforce mode", func() bool {
		real, _, _ := attest()
		return !real
	})
	if _, cl, _ := attest(); cl.Mon != nil || deref(cl.Arc) != "rooted,hooked" {
		t.Fatalf("enforce-mode failure: mon %v arc %v", cl.Mon, deref(cl.Arc))
	}
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
