package e2e

import (
	"testing"

	"github.com/attestd/attestd/client"
	"github.com/attestd/attestd/daemon"
	"github.com/attestd/attestd/internal/limit"
	"github.com/attestd/attestd/internal/testenv"
)

// TestRateLimitsAnswerBeforeWork: a client IP past its challenge rate and
// a device key past its attest rate get rate_limited with Retry-After; the
// refused attest does not use its nonce up.
func TestRateLimitsAnswerBeforeWork(t *testing.T) {
	f := testenv.NewFixture(t)
	node := testenv.StartNode(t, testenv.NewStore(t, f), testenv.Options{Edit: func(c *daemon.Config) {
		c.Limits = limit.Config{ChallengeRate: 0.01, ChallengeBurst: 3, AttestRate: 0.01, AttestBurst: 1}
	}})
	e := &env{t: t, f: f, node: node, tr: http1()}
	c := e.client(testenv.App)
	n1, n2 := e.nonce(c), e.nonce(c)
	e.nonce(c)
	a := e.do("POST", "/v1/challenge", "", nil, nil)
	if a.status != 429 || a.errorCode(t) != "rate_limited" || a.header.Get("Retry-After") == "" {
		t.Fatalf("challenge past the burst: %d %q %s", a.status, a.header.Get("Retry-After"), a.body)
	}
	if v := decodeVerdict(t, e.attest(c, e.body(c, n1, client.Evidence{}))); v.Token == "" {
		t.Fatal("first attest refused")
	}
	b2 := e.body(c, n2, client.Evidence{})
	a = e.attest(c, b2)
	if a.status != 429 || a.errorCode(t) != "rate_limited" || a.header.Get("Retry-After") == "" {
		t.Fatalf("attest past the device's burst: %d %s", a.status, a.body)
	}
	// Another device is not held back by this one.
	other := e.client(testenv.App)
	if a := e.attest(other, e.body(other, n2, client.Evidence{})); a.status != 200 {
		t.Fatalf("another device: %d %s", a.status, a.body)
	}
}
