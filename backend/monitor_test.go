package backend

import (
	"context"
	"errors"
	"testing"

	"github.com/attestd/attestd/crypto/token"
)

func strp(s string) *string { return &s }

// TestMonitorModeClaims: a Verifier exposes mon, arc and dbg; by default it
// accepts a monitor-mode failure (the point of monitor mode) and with
// RefuseMonitorFailures refuses it, while monitor-mode passes and
// enforce-mode tokens go through either way.
func TestMonitorModeClaims(t *testing.T) {
	clk := newClock()
	hs := hsSigner(t, "hs-1")
	now := clk.Now()
	with := func(edit func(*token.Claims)) string {
		c := claimsAt(now)
		edit(&c)
		return mint(t, hs, c)
	}
	monFail := with(func(c *token.Claims) { c.Monitor, c.Annotation = true, strp("rooted,hooked") })
	monPass := with(func(c *token.Claims) { c.Monitor, c.Annotation = true, strp("") })
	monNoArc := with(func(c *token.Claims) { c.Monitor = true })
	debug := with(func(c *token.Claims) { c.Annotation, c.Debug = strp(""), "ci-runner" })
	plain := with(func(*token.Claims) {})
	watch := newVerifier(t, Config{Keys: []token.VerifyKey{hs.Verifier()}, Audience: "acme", Now: clk.Now})
	strict := newVerifier(t, Config{Keys: []token.VerifyKey{hs.Verifier()}, Audience: "acme", Now: clk.Now, RefuseMonitorFailures: true})
	for _, tc := range []struct {
		name        string
		tok         string
		failure     bool // MonitorFailure of its claims
		refused     bool // by strict
		mon         bool
		arc, debugN string
	}{
		{"monitor-failure", monFail, true, true, true, "rooted,hooked", ""},
		{"monitor-pass", monPass, false, false, true, "", ""},
		{"monitor-without-arc", monNoArc, true, true, true, "<absent>", ""},
		{"debug-pass", debug, false, false, false, "", "ci-runner"},
		{"enforce", plain, false, false, false, "<absent>", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := watch.Verify(context.Background(), tc.tok, nil)
			if err != nil {
				t.Fatalf("watching verifier: %v", err)
			}
			arc := "<absent>"
			if c.Annotation != nil {
				arc = *c.Annotation
			}
			if c.Monitor != tc.mon || arc != tc.arc || c.Debug != tc.debugN || MonitorFailure(c) != tc.failure {
				t.Fatalf("claims mon %v arc %q dbg %q failure %v", c.Monitor, arc, c.Debug, MonitorFailure(c))
			}
			_, err = strict.Verify(context.Background(), tc.tok, nil)
			if tc.refused != errors.Is(err, ErrMonitorFailure) || !tc.refused && err != nil {
				t.Fatalf("strict verifier: %v, refused want %v", err, tc.refused)
			}
		})
	}
	for name, start := range transports {
		t.Run(name, func(t *testing.T) {
			url := start(t, strict)
			runHTTPCase(t, url, httpCase{"", [][2]string{{"Attest-Token", monFail}}, 401, "token stands for a failed attestation (monitor mode)", ""})
			runHTTPCase(t, url, httpCase{"", [][2]string{{"Attest-Token", monPass}}, 200, "", "com.example.shop"})
		})
	}
}
