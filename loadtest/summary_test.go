package loadtest

import (
	"strings"
	"testing"
)

// TestIncidentRunSaysItWasRateLimited is the run that prompted this: a
// default run against a node with its default limits got 116,841
// rate_limited challenges against 1,744 attests, most of them replays,
// and still ended "every answer was the one its evidence must get". Its
// summary now says what it measured, its headline rate leaves the replays
// out, and it fails --strict.
func TestIncidentRunSaysItWasRateLimited(t *testing.T) {
	rep := &Report{Mode: ModeClosed, Transport: TransportHTTP1, Seconds: 10, Attests: 1744, Replays: 1500,
		Challenges: 116841 + 244, Errors: 116841 + 1500, Refused: 116841, RateLimitedChallenges: 116841,
		Latency: map[string]Quantiles{}, Verdicts: map[string]uint64{"pass": 244},
		ErrorCodes: map[string]uint64{"challenge rate_limited (429)": 116841, "attest nonce_replayed (401)": 1500}}
	rep.AttestsPerSec, rep.FreshAttestsPerSec = 174.4, 24.4
	rep.summarize()
	if !rep.MostlyRateLimited || !rep.Failed() {
		t.Fatalf("mostly rate limited %v, failed %v", rep.MostlyRateLimited, rep.Failed())
	}
	var b strings.Builder
	if err := rep.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{"MOSTLY RATE LIMITED", "98.3% of the 118829 requests", "116841 challenges",
		"--challenge-rate", "--challenge-rate 0 --attest-rate 0", "244 with a fresh nonce (24/s)", "1500 more attests replayed a used nonce (86.0%"} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "every answer was the one its evidence must get") {
		t.Errorf("a run of refusals says all was well:\n%s", out)
	}
	if last := strings.TrimSpace(out[strings.LastIndex(strings.TrimSpace(out), "\n"):]); !strings.HasPrefix(last, "MOSTLY RATE LIMITED") {
		t.Errorf("the last line is %q", last)
	}
}

func TestSummaryOfOtherRuns(t *testing.T) {
	for name, c := range map[string]struct {
		rep    Report
		failed bool
		want   []string
		not    []string
	}{
		"clean": {Report{Attests: 1000, Challenges: 1000}, false,
			[]string{"every answer was the one its evidence must get"}, []string{"refused", "replays"}},
		"some refused, some replays": {Report{Attests: 1000, Replays: 10, Challenges: 990, Refused: 300, RateLimitedAttests: 100, Overloaded: 200}, false,
			[]string{"every answer", "15.1% of the requests sent were refused (100 rate_limited, 200 overloaded)", "10 replays"}, []string{"MOSTLY"}},
		"shed, not limited": {Report{Attests: 1000, Challenges: 1000, Refused: 1500, Overloaded: 1500}, false,
			[]string{"75.0% of the requests sent were refused (0 rate_limited, 1500 overloaded)"}, []string{"MOSTLY"}},
		"unexpected": {Report{Attests: 10, Challenges: 10, Unexpected: map[string]uint64{"pass → verdict:rooted": 1}}, true,
			[]string{"UNEXPECTED"}, []string{"every answer"}},
		"attests limited per device": {Report{Attests: 1000, Challenges: 1000, Refused: 1100, RateLimitedAttests: 1100}, true,
			[]string{"MOSTLY RATE LIMITED", "1100 attests", "--attest-rate"}, nil},
	} {
		rep := c.rep
		rep.summarize()
		if rep.Failed() != c.failed {
			t.Errorf("%s: failed %v", name, rep.Failed())
		}
		for _, w := range c.want {
			if !strings.Contains(rep.Summary, w) {
				t.Errorf("%s: summary %q lacks %q", name, rep.Summary, w)
			}
		}
		for _, w := range c.not {
			if strings.Contains(rep.Summary, w) {
				t.Errorf("%s: summary %q has %q", name, rep.Summary, w)
			}
		}
	}
}
