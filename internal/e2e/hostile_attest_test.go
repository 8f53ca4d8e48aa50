package e2e

import (
	"testing"

	"github.com/attestd/attestd/client"
	"github.com/attestd/attestd/daemon"
	"github.com/attestd/attestd/internal/limit"
	"github.com/attestd/attestd/internal/testenv"
)

// TestForgedAttestsDoNotSpendVictimAllowanceOverNode: over a real node with
// a per-device limit of one attest per 1000 s, 30 attests naming a
// victim's device key but signed by someone else are each refused
// (signature_invalid) without charging the victim's bucket: the victim's
// own attest then passes, and only its second one is rate_limited.
func TestForgedAttestsDoNotSpendVictimAllowanceOverNode(t *testing.T) {
	f := testenv.NewFixture(t)
	node := testenv.StartNode(t, testenv.NewStore(t, f), testenv.Options{Edit: func(c *daemon.Config) {
		c.Limits = limit.Config{AttestRate: 0.001, AttestBurst: 1}
	}})
	e := &env{t: t, f: f, node: node, tr: http1()}
	victim, attacker := e.client(testenv.App), e.client(testenv.App)
	for i := range 30 {
		body := e.body(victim, e.nonce(victim), client.Evidence{})
		a := e.attest(attacker, body) // the victim's key in the body, the attacker's signature
		if a.status != 401 || a.errorCode(t) != "signature_invalid" {
			t.Fatalf("forgery %d: %d %s", i, a.status, a.body)
		}
	}
	v := decodeVerdict(t, e.attest(victim, e.body(victim, e.nonce(victim), client.Evidence{})))
	if _, err := verifyHS(v.Token, f.HSKey, testenv.Account); err != nil {
		t.Fatalf("the victim after 30 forgeries: not a pass: %v", err)
	}
	a := e.attest(victim, e.body(victim, e.nonce(victim), client.Evidence{}))
	if a.status != 429 || a.errorCode(t) != "rate_limited" {
		t.Fatalf("the victim's second attest: %d %s, want 429 (the limit is on)", a.status, a.body)
	}
}

// TestDecoyFloodDoesNotDenyGenuineOverNode: over a real node whose replay
// set holds 60 nonces per class, an attacker with self-made device keys
// spends nonces on decoys (unknown app ids, and a registered app with its
// failing claims) until the node answers its decoys overloaded. Genuine
// devices of the registered app keep passing all the while, up to their
// own budget.
func TestDecoyFloodDoesNotDenyGenuineOverNode(t *testing.T) {
	const budget = 60
	f := testenv.NewFixture(t)
	node := testenv.StartNode(t, testenv.NewStore(t, f), testenv.Options{Edit: func(c *daemon.Config) { c.ReplayMax = budget }})
	e := &env{t: t, f: f, node: node, tr: http1()}
	unknown := f.ClientApp(testenv.App)
	unknown.ID = "com.attacker.decoy"
	decoy := func(i int) answer {
		var c *client.Client
		ev := client.Evidence{}
		if i%2 == 0 {
			var err error
			if c, err = client.New(client.Config{BaseURL: e.base(), App: unknown, HTTP: e.tr.HTTP, Now: node.Clock.Now}); err != nil {
				t.Fatal(err)
			}
		} else {
			c, ev = e.client(testenv.App), client.Evidence{Integrity: client.Integrity{Hooked: true}}
		}
		return e.attest(c, e.body(c, e.nonce(c), ev))
	}
	for i := range budget {
		if a := decoy(i); a.status != 200 {
			t.Fatalf("decoy %d: %d %s", i, a.status, a.body)
		}
	}
	for i := range 2 {
		if a := decoy(i); a.status != 503 || a.errorCode(t) != "overloaded" || a.header.Get("Retry-After") == "" {
			t.Fatalf("decoy past the budget: %d %s", a.status, a.body)
		}
	}
	for i := range budget {
		c := e.client(testenv.App)
		v := decodeVerdict(t, e.attest(c, e.body(c, e.nonce(c), client.Evidence{})))
		if _, err := verifyHS(v.Token, f.HSKey, testenv.Account); err != nil {
			t.Fatalf("genuine device %d during the flood: not a pass: %v", i, err)
		}
		if a := decoy(i); a.status != 503 {
			t.Fatalf("decoy between genuine attests: %d %s", a.status, a.body)
		}
	}
	c := e.client(testenv.App)
	if a := e.attest(c, e.body(c, e.nonce(c), client.Evidence{})); a.status != 503 {
		t.Fatalf("a pass past its own budget: %d %s, want 503", a.status, a.body)
	}
}
