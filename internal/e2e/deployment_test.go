package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/golang-jwt/jwt/v5"

	"github.com/attestd/attestd/client"
	"github.com/attestd/attestd/internal/ctl"
	"github.com/attestd/attestd/internal/state"
	"github.com/attestd/attestd/internal/testenv"
	"github.com/attestd/attestd/internal/testenv/logbuf"
)

// TestTwoNodesOneStore: a nonce from one node is accepted by the other,
// and a replay on the same node is refused.
func TestTwoNodesOneStore(t *testing.T) {
	f := testenv.NewFixture(t)
	s := testenv.NewStore(t, f)
	a := testenv.StartNode(t, s, testenv.Options{})
	b := testenv.StartNode(t, s, testenv.Options{})
	ea := &env{t: t, f: f, node: a, tr: http1()}
	eb := &env{t: t, f: f, node: b, tr: http1()}
	c := ea.client(testenv.App)
	body := ea.body(c, ea.nonce(c), client.Evidence{}) // nonce from node A
	v := decodeVerdict(t, eb.attest(c, body))          // used on node B
	if _, err := verifyHS(v.Token, f.HSKey, testenv.Account); err != nil {
		t.Fatalf("node B refused node A's nonce: %v", err)
	}
	if ans := eb.attest(c, body); ans.status != 401 || ans.errorCode(t) != "nonce_replayed" {
		t.Fatalf("replay on node B: %d %s", ans.status, ans.body)
	}
}

// runCtl runs attestctl against the store.
func runCtl(t *testing.T, s *testenv.Store, stdin string, args ...string) string {
	t.Helper()
	var out, errb bytes.Buffer
	cfg := ctl.Config{}
	full := append([]string{"--store", s.URL}, args...)
	if code := cfg.Main(context.Background(), full, strings.NewReader(stdin), &out, &errb); code != 0 {
		t.Fatalf("attestctl %v: exit %d: %s", args, code, errb.String())
	}
	return out.String()
}

// jwksKeyFunc verifies with the account's published JWKS (go-jose parses it).
func jwksKeyFunc(t *testing.T, e *env, account string) jwt.Keyfunc {
	t.Helper()
	a := e.do("GET", "/v1/accounts/"+account+"/jwks.json", "", nil, nil)
	if a.status != 200 || !strings.Contains(a.header.Get("Cache-Control"), "max-age=") {
		t.Fatalf("jwks: %d %q %s", a.status, a.header.Get("Cache-Control"), a.body)
	}
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(a.body, &set); err != nil {
		t.Fatalf("jwks does not parse: %v", err)
	}
	return func(tok *jwt.Token) (any, error) {
		kid, _ := tok.Header["kid"].(string)
		for _, k := range set.Key(kid) {
			return k.Key, nil
		}
		return nil, fmt.Errorf("kid %q not in the JWKS", kid)
	}
}

func verifyWith(tok string, kf jwt.Keyfunc, alg, aud string) error {
	_, err := jwt.Parse(tok, kf, jwt.WithValidMethods([]string{alg}), jwt.WithAudience(aud), jwt.WithIssuer("attestd"))
	return err
}

func TestAsymmetricTokensVerifyAgainstJWKS(t *testing.T) {
	f := testenv.NewFixture(t)
	node := testenv.StartNode(t, testenv.NewStore(t, f), testenv.Options{})
	e := &env{t: t, f: f, node: node, tr: http1()}
	for _, tc := range []struct{ app, account, alg string }{
		{testenv.AppES, testenv.AccountES, "ES256"},
		{testenv.AppEd, testenv.AccountEd, "EdDSA"},
	} {
		t.Run(tc.alg, func(t *testing.T) {
			e.t = t
			kf := jwksKeyFunc(t, e, tc.account)
			c := e.client(tc.app)
			v := decodeVerdict(t, e.attest(c, e.body(c, e.nonce(c), client.Evidence{})))
			if err := verifyWith(v.Token, kf, tc.alg, tc.account); err != nil {
				t.Fatalf("pass token: %v", err)
			}
			bad := decodeVerdict(t, e.attest(c, e.body(c, e.nonce(c), client.Evidence{Integrity: client.Integrity{Hooked: true}})))
			if err := verifyWith(bad.Token, kf, tc.alg, tc.account); err == nil {
				t.Fatal("failed verdict's token verifies against the JWKS")
			}
			if header(t, bad.Token)["kid"] != header(t, v.Token)["kid"] || header(t, bad.Token)["alg"] != tc.alg {
				t.Fatal("decoy header differs")
			}
			if unverifiedClaims(t, v.Token).Arc != nil {
				t.Error("arc present on an account without annotation")
			}
		})
	}
	t.Run("hs256-account-publishes-nothing", func(t *testing.T) {
		e.t = t
		a := e.do("GET", "/v1/accounts/"+testenv.Account+"/jwks.json", "", nil, nil)
		if a.status != 200 || strings.TrimSpace(string(a.body)) != `{"keys":[]}` {
			t.Fatalf("jwks of an HS256 account: %d %s", a.status, a.body)
		}
	})
}

// TestKeyRotationWhileRunning rotates the ES256 key with attestctl while the
// daemon runs: new tokens carry the new kid within 2 s, old tokens verify
// against the JWKS until the old key is retired.
func TestKeyRotationWhileRunning(t *testing.T) {
	f := testenv.NewFixture(t)
	s := testenv.NewStore(t, f)
	node := testenv.StartNode(t, s, testenv.Options{})
	e := &env{t: t, f: f, node: node, tr: http1()}
	c := e.client(testenv.AppES)
	mint := func() string {
		return decodeVerdict(t, e.attest(c, e.body(c, e.nonce(c), client.Evidence{}))).Token
	}
	old := mint()
	runCtl(t, s, "", "key", "add", testenv.AccountES, "--alg", "ES256", "--kid", "e2")
	runCtl(t, s, "", "key", "activate", testenv.AccountES, "e2")
	var tok string
	within(t, "the new kid", func() bool { tok = mint(); return header(t, tok)["kid"] == "e2" })
	kf := jwksKeyFunc(t, e, testenv.AccountES)
	if err := verifyWith(tok, kf, "ES256", testenv.AccountES); err != nil {
		t.Fatalf("new token: %v", err)
	}
	if err := verifyWith(old, kf, "ES256", testenv.AccountES); err != nil {
		t.Fatalf("old token before retirement: %v", err)
	}
	runCtl(t, s, "", "key", "retire", testenv.AccountES, testenv.KIDES)
	within(t, "the retired key's removal from the JWKS", func() bool {
		return verifyWith(old, jwksKeyFunc(t, e, testenv.AccountES), "ES256", testenv.AccountES) != nil
	})
}

// TestStoreChangesApplyWithoutRestart: an app registered, a device banned
// and a secret changed with attestctl reach the running node within 2 s.
func TestStoreChangesApplyWithoutRestart(t *testing.T) {
	f := testenv.NewFixture(t)
	s := testenv.NewStore(t, f)
	node := testenv.StartNode(t, s, testenv.Options{})
	e := &env{t: t, f: f, node: node, tr: http1()}
	c := e.client(testenv.App)
	runCtl(t, s, "rotated-value-2", "secret", "put", testenv.Account, testenv.SecretName, "--apps", testenv.App+","+testenv.AppLenient)
	within(t, "secret change", func() bool {
		r, err := c.Attest(context.Background(), client.Evidence{WantSecrets: true})
		if err != nil {
			t.Fatal(err)
		}
		m, err := c.OpenSecrets(r)
		if err != nil {
			t.Fatal(err)
		}
		return m[testenv.SecretName] == "rotated-value-2"
	})
	runCtl(t, s, "", "ban", "add", "--", c.DID()) // "--": a did may begin with "-"
	within(t, "ban", func() bool {
		v := decodeVerdict(t, e.attest(c, e.body(c, e.nonce(c), client.Evidence{})))
		cl := unverifiedClaims(t, v.Token)
		return cl.Arc != nil && *cl.Arc == "device_banned"
	})
}

// TestNoSecretEscapes runs passing and failing traffic, then searches every
// log line, every answer and the metrics for secret material. Debug tokens
// (PROTOCOL.md §11) are secrets too: used, refused, revoked and listed,
// neither a token nor the MAC the store keeps of it may show anywhere but
// in the one output of the add that made it.
func TestNoSecretEscapes(t *testing.T) {
	f := testenv.NewFixture(t)
	s := testenv.NewStore(t, f)
	logs := &logbuf.Buffer{} // read while the node writes
	node := testenv.StartNode(t, s, testenv.Options{Log: logs, LogLevel: "debug"})
	e := &env{t: t, f: f, node: node, tr: http1()}
	var answers bytes.Buffer
	c := e.client(testenv.App)
	for _, ev := range []client.Evidence{{WantSecrets: true}, {WantSecrets: true, Integrity: client.Integrity{Rooted: true}}} {
		a := e.attest(c, e.body(c, e.nonce(c), ev))
		answers.Write(a.body)
	}
	var tokens []string
	for _, name := range []string{"ci", "revoked"} {
		tokens = append(tokens, strings.TrimSpace(runCtl(t, s, "", "debug-token", "add", testenv.Account, testenv.App, name, "--secrets")))
	}
	runCtl(t, s, "", "debug-token", "revoke", testenv.Account, testenv.App, "revoked")
	runCtl(t, s, "", "app", "enforcement", testenv.AppStrict, "monitor")
	listed := runCtl(t, s, "", "debug-token", "list")
	deadline := time.Now().Add(2 * time.Second)
	for i := 0; ; i++ {
		dc := debugBuild(t, e, testenv.App, tokens[i%2])
		a := e.attest(dc, e.body(dc, e.nonce(dc), onEmulator))
		answers.Write(a.body)
		if strings.Contains(logs.String(), `name=ci`) && i >= 2 {
			break // a use was logged (the add reached the node), and the revoked one was tried
		}
		if time.Now().After(deadline) {
			t.Fatal("no debug token use logged within 2 s")
		}
	}
	sc := e.client(testenv.AppStrict) // in monitor mode, without the platform attestation it requires
	within(t, "monitor mode", func() bool {
		a := e.attest(sc, e.body(sc, e.nonce(sc), client.Evidence{WantSecrets: true, Integrity: client.Integrity{Hooked: true}}))
		answers.Write(a.body)
		real, _ := verifyMon(t, decodeVerdict(t, a).Token, f.HSKey)
		return real
	})
	for _, tc := range protocolCases() {
		answers.Write(tc.run(&env{t: t, f: f, node: node, tr: http1()}).body)
	}
	resp, err := http.Get(node.Admin + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	m, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	exportOut := runCtl(t, s, "", "export")
	needles := testenv.SecretNeedles(t, f, s)
	for _, tok := range tokens {
		needles = append(needles, tok, tok[len("adt_"):])
	}
	needles = append(needles, debugTokenMACs(t, s)...)
	if len(debugTokenMACs(t, s)) != 1 {
		t.Fatal("the store does not hold one debug token")
	}
	for name, hay := range map[string]string{"logs": logs.String(), "answers": answers.String(), "metrics": string(m), "export": exportOut,
		"debug-token list": listed} {
		for _, n := range needles {
			if strings.Contains(hay, n) {
				t.Errorf("secret material found in %s", name)
			}
		}
	}
	if !strings.Contains(string(m), "attestd_verdicts_total") {
		t.Error("metrics lack attestd_verdicts_total")
	}
	for _, want := range []string{`attestd_debug_token_uses_total{outcome="accepted"}`, `attestd_verdict_failures_total{mode="monitor",reason="hooked"} 1`,
		`attestd_verdict_failures_total{mode="monitor",reason="platform_attestation_missing"} 1`} {
		if !strings.Contains(string(m), want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

// debugTokenMACs are the MACs (hex, as store keys hold them) of the debug
// tokens of s.
func debugTokenMACs(t *testing.T, s *testenv.Store) []string {
	t.Helper()
	snap, _ := s.Load(t)
	var out []string
	for _, k := range snap.Keys(state.DebugTokensPrefix) {
		out = append(out, strings.TrimPrefix(k, state.DebugTokensPrefix))
	}
	return out
}
