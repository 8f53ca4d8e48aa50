package proxy

import (
	"testing"

	"github.com/attestd/attestd/crypto/token"
	"github.com/attestd/attestd/internal/proxytest"
	"github.com/attestd/attestd/internal/registry"
)

// memDebug is an in-memory DebugTokens lookup.
type memDebug map[[3]string]registry.DebugToken

func (m memDebug) DebugTokenNamed(account, app, name string) (registry.DebugToken, bool, error) {
	t, ok := m[[3]string{account, app, name}]
	return t, ok, nil
}

// TestProxyRefusesTokensThatReleasedNoSecret: a monitor-mode failure is
// signed with the account's key (so backends can watch it), and a debug
// token made without --secrets gives a real-key pass, but neither verdict
// released a secret (PROTOCOL.md §11), so neither may make the proxy use
// one: 401 token_invalid and nothing forwarded. A monitor-mode pass and a
// token of a live debug token made with --secrets go through.
func TestProxyRefusesTokensThatReleasedNoSecret(t *testing.T) {
	arc := func(s string) *string { return &s }
	for _, tr := range proxytest.Listeners {
		t.Run(tr.Name, func(t *testing.T) {
			w := newWorld(t)
			exp := w.now.Unix() + 3600
			w.cfg.DebugTokens = memDebug{
				{testAccount, "app", "ci"}:      {Name: "ci", Account: testAccount, App: "app", ExpiresAt: exp},
				{testAccount, "app", "ci-keys"}: {Name: "ci-keys", Account: testAccount, App: "app", ExpiresAt: exp, Secrets: true},
				{testAccount, "app", "old"}:     {Name: "old", Account: testAccount, App: "app", ExpiresAt: w.now.Unix(), Secrets: true},
			}
			p, err := New(w.cfg)
			if err != nil {
				t.Fatal(err)
			}
			base := tr.Start(t, p)
			for _, tc := range []struct {
				name   string
				claims token.Claims
				pass   bool
			}{
				{"monitor-failure", token.Claims{Subject: "app", Monitor: true, Annotation: arc("rooted")}, false},
				{"monitor-failure-without-arc", token.Claims{Subject: "app", Monitor: true}, false},
				{"monitor-pass", token.Claims{Subject: "app", Monitor: true, Annotation: arc("")}, true},
				{"debug-without-secrets", token.Claims{Subject: "app", Debug: "ci"}, false},
				{"debug-with-secrets", token.Claims{Subject: "app", Debug: "ci-keys"}, true},
				{"debug-expired", token.Claims{Subject: "app", Debug: "old"}, false},
				{"debug-revoked", token.Claims{Subject: "app", Debug: "gone"}, false},
				{"debug-of-another-app", token.Claims{Subject: "other", Debug: "ci-keys"}, false},
				{"plain-pass", token.Claims{Subject: "app"}, true},
			} {
				t.Run(tc.name, func(t *testing.T) {
					w.up.Take()
					a := send(t, "GET", base+"/v1/proxy/hdr/x", map[string]string{TokenHeader: w.token(tc.claims)}, nil)
					hits := w.up.Take()
					if tc.pass {
						if a.status != 200 || len(hits) != 1 {
							t.Fatalf("status %d, %d forwarded; want 200, 1", a.status, len(hits))
						}
						return
					}
					if a.status != 401 || a.code(t) != "token_invalid" || len(hits) != 0 {
						t.Fatalf("status %d, %d forwarded; want 401 token_invalid, nothing forwarded", a.status, len(hits))
					}
				})
			}
		})
	}
}

// TestProxyWithoutDebugTokensRefusesDebugTokens: a proxy given no lookup
// fails closed on every token that names a debug token.
func TestProxyWithoutDebugTokensRefusesDebugTokens(t *testing.T) {
	w := newWorld(t)
	p, err := New(w.cfg)
	if err != nil {
		t.Fatal(err)
	}
	base := proxytest.Listeners[0].Start(t, p)
	a := send(t, "GET", base+"/v1/proxy/hdr/x", map[string]string{TokenHeader: w.token(token.Claims{Subject: "app", Debug: "ci"})}, nil)
	if a.status != 401 || len(w.up.Take()) != 0 {
		t.Fatalf("status %d; want 401 and nothing forwarded", a.status)
	}
}
