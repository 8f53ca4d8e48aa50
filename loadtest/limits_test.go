package loadtest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/attestd/attestd/daemon"
	"github.com/attestd/attestd/internal/testenv"
	"github.com/attestd/attestd/loadtest"
)

// TestRunAgainstDefaultLimitsSaysSo: a short run against a real node with
// attestd's default rate limits (testenv turns them off; this node has
// them) is mostly refused; the report says so and names the flags, and
// --strict makes it exit 1. The help names the limits too.
func TestRunAgainstDefaultLimitsSaysSo(t *testing.T) {
	def, err := daemon.DefaultFlags().Validate()
	if err != nil {
		t.Fatal(err)
	}
	n := node(t, testenv.Options{Edit: func(c *daemon.Config) { c.Limits = def.Limits }})
	args := []string{"run", "--target", n.Base, "--duration", "1s", "--workers", "16", "--devices", "50", "--quiet"}
	var out, errb bytes.Buffer
	if code := loadtest.Main(context.Background(), append(args, "--strict"), &out, &errb); code != 1 {
		t.Fatalf("--strict: exit %d, want 1\n%s%s", code, out.String(), errb.String())
	}
	for _, want := range []string{"MOSTLY RATE LIMITED", "--challenge-rate 0 --attest-rate 0", "challenges and"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, out.String())
		}
	}
	out.Reset()
	if code := loadtest.Main(context.Background(), append(args, "--json"), &out, &errb); code != 0 {
		t.Fatalf("without --strict: exit %d: %s", code, errb.String())
	}
	var rep loadtest.Report
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatal(err)
	}
	if !rep.MostlyRateLimited || rep.RateLimitedChallenges == 0 || !strings.HasPrefix(rep.Summary, "MOSTLY RATE LIMITED") {
		t.Errorf("json report: mostly %v, limited challenges %d, summary %q", rep.MostlyRateLimited, rep.RateLimitedChallenges, rep.Summary)
	}
	out.Reset()
	errb.Reset()
	loadtest.Main(context.Background(), []string{"run", "-h"}, &out, &errb)
	help := out.String() + errb.String()
	for _, want := range []string{"--challenge-rate", "--challenge-burst", "per client IP", "--attest-rate", "--attest-burst",
		"per device key", "signature verified", "--strict"} {
		if !strings.Contains(help, want) {
			t.Errorf("run -h lacks %q", want)
		}
	}
}

// TestCleanRunStrictPasses: with the limits off, a run is not refused and
// --strict exits 0; replays are counted apart.
func TestCleanRunStrictPasses(t *testing.T) {
	n := node(t, testenv.Options{})
	var out, errb bytes.Buffer
	code := loadtest.Main(context.Background(), []string{"run", "--target", n.Base, "--requests", "200", "--workers", "4",
		"--devices", "20", "--mix", "pass=3,replay=1", "--strict", "--quiet", "--json"}, &out, &errb)
	if code != 0 {
		t.Fatalf("exit %d: %s%s", code, out.String(), errb.String())
	}
	var rep loadtest.Report
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Replays == 0 || rep.Replays >= rep.Attests || rep.FreshAttestsPerSec >= rep.AttestsPerSec || rep.MostlyRateLimited ||
		!strings.HasPrefix(rep.Summary, "every answer was the one its evidence must get") {
		t.Errorf("report: %+v", rep)
	}
}
