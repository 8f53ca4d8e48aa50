package loadtest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/attestd/attestd/internal/model"
	"github.com/attestd/attestd/internal/state"
	"github.com/attestd/attestd/internal/testenv"
	"github.com/attestd/attestd/internal/testenv/h3test"
	"github.com/attestd/attestd/loadtest"
)

// node runs a real daemon on a file store seeded with the generator's own
// bundle, as `attestload seed | attestctl import -` does.
func node(t *testing.T, o testenv.Options) *testenv.Node {
	t.Helper()
	var buf bytes.Buffer
	if err := loadtest.WriteBundle(&buf, nil); err != nil {
		t.Fatal(err)
	}
	b, err := model.DecodeBundle(&buf)
	if err != nil {
		t.Fatalf("the seed bundle does not decode: %v", err)
	}
	if err := state.CheckBundle(b); err != nil {
		t.Fatalf("the seed bundle is refused: %v", err)
	}
	dir := t.TempDir()
	s := &testenv.Store{Dir: dir, URL: "file://" + dir}
	s.Import(t, b)
	return testenv.StartNode(t, s, o)
}

func mustMix(t *testing.T, s string) loadtest.Mix {
	t.Helper()
	m, err := loadtest.ParseMix(s)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// everyKind sends each kind of evidence often enough to appear in a short run.
const everyKind = "pass=4,rooted=1,measurement=1,version=1,unknown_app=1,badsig=1,replay=1"

func checkVerdicts(t *testing.T, rep *loadtest.Report) {
	t.Helper()
	if len(rep.Unexpected) != 0 {
		t.Errorf("unexpected answers: %v", rep.Unexpected)
	}
	for _, v := range []string{"pass", "rooted", "measurement_mismatch", "version_unknown", "app_unknown"} {
		if rep.Verdicts[v] == 0 {
			t.Errorf("no %q verdict in %v", v, rep.Verdicts)
		}
	}
	for _, e := range []string{"attest signature_invalid (401)", "attest nonce_replayed (401)"} {
		if rep.ErrorCodes[e] == 0 {
			t.Errorf("no %q in %v", e, rep.ErrorCodes)
		}
	}
	for _, s := range []string{"operation", "challenge", "attest"} {
		if q := rep.Latency[s]; q.N == 0 || q.P50 <= 0 || q.P99 < q.P50 || q.Max < q.P99 {
			t.Errorf("latency %s: %+v", s, q)
		}
	}
}

func TestClosedLoopHTTP1(t *testing.T) {
	n := node(t, testenv.Options{})
	rep, err := loadtest.Run(context.Background(), loadtest.Config{
		Target: n.Base, Admin: n.Admin, Workers: 8, Requests: 400, Devices: 20, Mix: mustMix(t, everyKind),
	})
	if err != nil {
		t.Fatal(err)
	}
	if rep.TargetCPUSeconds <= 0 || rep.AttestsPerTargetCPUSecond <= 0 || rep.TargetRSSBytes <= 0 {
		t.Errorf("target CPU %v s, %v attests per CPU s, RSS %d", rep.TargetCPUSeconds, rep.AttestsPerTargetCPUSecond, rep.TargetRSSBytes)
	}
	if rep.Attests != 400 || rep.AttestsPerSec <= 0 {
		t.Errorf("%d attests at %.0f/s, want 400", rep.Attests, rep.AttestsPerSec)
	}
	checkVerdicts(t, rep)
}

func TestOpenLoopHTTP3(t *testing.T) {
	c := h3test.NewCert(t, t.TempDir(), "node")
	n := node(t, h3test.TLSOptions(c, testenv.Options{}))
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	pem, err := os.ReadFile(c.CertFile)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(caFile, pem, 0o600); err != nil {
		t.Fatal(err)
	}
	rep, err := loadtest.Run(context.Background(), loadtest.Config{
		Target: h3test.H3Base(n), Transport: loadtest.TransportHTTP3, TLS: loadtest.TLSOptions{CAFile: caFile},
		Mode: loadtest.ModeOpen, Rate: 300, Duration: 2 * time.Second, Workers: 32, Devices: 20, Mix: mustMix(t, everyKind),
	})
	if err != nil {
		t.Fatal(err)
	}
	// 300/s for 2 s: 600 due, all sent.
	if rep.Attests < 590 || rep.Attests > 601 || rep.Unsent != 0 || rep.Rate != 300 {
		t.Errorf("%d attests, %d unsent, rate %v; want 600 due and sent", rep.Attests, rep.Unsent, rep.Rate)
	}
	checkVerdicts(t, rep)
}

func TestPrefetchSendsAttestsOnly(t *testing.T) {
	n := node(t, testenv.Options{})
	rep, err := loadtest.Run(context.Background(), loadtest.Config{
		Target: n.Base, Workers: 4, Requests: 100, Devices: 5, Prefetch: true, Mix: mustMix(t, "pass=1"),
	})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Attests != 100 || rep.Challenges != 0 || rep.Verdicts["pass"] != 100 || len(rep.Unexpected) != 0 {
		t.Errorf("attests %d challenges %d verdicts %v unexpected %v", rep.Attests, rep.Challenges, rep.Verdicts, rep.Unexpected)
	}
}

func TestPresignSendsOnly(t *testing.T) {
	n := node(t, testenv.Options{})
	rep, err := loadtest.Run(context.Background(), loadtest.Config{
		Target: n.Base, Mode: loadtest.ModeOpen, Rate: 400, Duration: time.Second, Workers: 8, Devices: 5,
		Prefetch: true, Presign: true, Mix: mustMix(t, "pass=3,rooted=1,badsig=1,replay=1"),
	})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Attests < 399 || rep.Challenges != 0 || len(rep.Unexpected) != 0 || rep.Verdicts["pass"] == 0 || rep.Verdicts["rooted"] == 0 ||
		rep.ErrorCodes["attest signature_invalid (401)"] == 0 {
		t.Errorf("report %+v", rep)
	}
	if _, err := loadtest.Run(context.Background(), loadtest.Config{Target: n.Base, Requests: 1, Presign: true}); err == nil {
		t.Error("presign without prefetch ran")
	}
}

func TestOpenLoopCountsFromDueTime(t *testing.T) {
	// One worker and a rate above what one worker can do: operations wait
	// for the worker, and their latency must include the wait.
	n := node(t, testenv.Options{})
	rep, err := loadtest.Run(context.Background(), loadtest.Config{
		Target: n.Base, Mode: loadtest.ModeOpen, Rate: 5000, Requests: 300, Workers: 1, Devices: 5, Mix: mustMix(t, "pass=1"),
	})
	if err != nil {
		t.Fatal(err)
	}
	// The k-th operation waits for the k before it: operations average
	// about 150 attests' worth. Means and p99, not the maxima: one attest
	// stalled by a loaded machine must not decide the outcome.
	op, at := rep.Latency["operation"], rep.Latency["attest"]
	t.Logf("operation %+v, attest %+v", op, at)
	if op.Mean < 10*at.Mean || op.P99 <= at.P99 {
		t.Errorf("operation latency %+v does not include the wait for a worker (attest alone %+v)", op, at)
	}
}

func TestTargetMustBeLoopback(t *testing.T) {
	ctx := context.Background()
	for _, target := range []string{"http://10.0.0.1:8080", "http://192.168.1.10", "http://8.8.8.8", "http://[2001:db8::1]:80", "ftp://127.0.0.1"} {
		if _, err := loadtest.CheckTarget(ctx, target, false); err == nil {
			t.Errorf("%s accepted", target)
		}
		if _, err := loadtest.Run(ctx, loadtest.Config{Target: target, Requests: 1}); err == nil {
			t.Errorf("Run against %s started", target)
		}
	}
	for _, target := range []string{"http://127.0.0.1:8080", "http://127.9.9.9", "https://[::1]:8443", "http://localhost:1"} {
		if _, err := loadtest.CheckTarget(ctx, target, false); err != nil {
			t.Errorf("%s refused: %v", target, err)
		}
	}
	if _, err := loadtest.CheckTarget(ctx, "http://10.0.0.1:8080", true); err != nil {
		t.Errorf("--allow-remote: %v", err)
	}
}

func TestRunsAreBounded(t *testing.T) {
	for name, c := range map[string]loadtest.Config{
		"no bound":          {Target: "http://127.0.0.1:1"},
		"open without rate": {Target: "http://127.0.0.1:1", Mode: loadtest.ModeOpen, Duration: time.Second},
		"unknown mode":      {Target: "http://127.0.0.1:1", Mode: "sideways", Duration: time.Second},
		"http3 over http":   {Target: "http://127.0.0.1:1", Transport: loadtest.TransportHTTP3, Duration: time.Second},
	} {
		if _, err := loadtest.Run(context.Background(), c); err == nil {
			t.Errorf("%s: Run started", name)
		}
	}
}

func TestMainSeedAndRunJSON(t *testing.T) {
	var out, errb bytes.Buffer
	if code := loadtest.Main(context.Background(), []string{"seed", "--out", "-"}, &out, &errb); code != 0 {
		t.Fatalf("seed: exit %d: %s", code, errb.String())
	}
	if _, err := model.DecodeBundle(&out); err != nil {
		t.Fatalf("seed output: %v", err)
	}
	n := node(t, testenv.Options{})
	out.Reset()
	errb.Reset()
	code := loadtest.Main(context.Background(), []string{"run", "--target", n.Base, "--requests", "60", "--workers", "3",
		"--devices", "4", "--json"}, &out, &errb)
	if code != 0 {
		t.Fatalf("run: exit %d: %s", code, errb.String())
	}
	var rep loadtest.Report
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatalf("--json output: %v\n%s", err, out.String())
	}
	if rep.Attests != 60 || rep.Latency["attest"].N != 60 {
		t.Errorf("report: %+v", rep)
	}
	if code := loadtest.Main(context.Background(), []string{"run", "--target", "http://10.1.2.3:80", "--requests", "1"}, &out, &errb); code == 0 {
		t.Error("a remote target ran")
	}
	if !strings.Contains(errb.String(), "loopback") {
		t.Errorf("refusal does not say why: %s", errb.String())
	}
	// The text report, with its progress line on stderr.
	out.Reset()
	errb.Reset()
	if code := loadtest.Main(context.Background(), []string{"run", "--target", n.Base, "--duration", "1500ms", "--workers", "2", "--devices", "4"}, &out, &errb); code != 0 {
		t.Fatalf("text run: exit %d: %s", code, errb.String())
	}
	for _, want := range []string{"attests", "p99.9", "verdicts by reason", "pass"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("text report lacks %q:\n%s", want, out.String())
		}
	}
	if !strings.Contains(errb.String(), "[    1s] attests") {
		t.Errorf("no progress line on stderr: %q", errb.String())
	}
}
