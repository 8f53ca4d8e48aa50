package h3e2e

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/attestd/attestd/client"
	"github.com/attestd/attestd/internal/testenv"
)

// TestDashboardMetricsExist: every attestd_* series the Grafana dashboard
// queries is exported by a running node (HTTPS and HTTP/3 on), so the
// dashboard cannot silently drift from the metric names.
func TestDashboardMetricsExist(t *testing.T) {
	raw, err := os.ReadFile("../../deploy/grafana-dashboard.json")
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Panels []struct {
			Title   string
			Targets []struct{ Expr string }
		}
	}
	if err := json.Unmarshal(raw, &dash); err != nil {
		t.Fatalf("dashboard is not JSON: %v", err)
	}
	f := testenv.NewFixture(t)
	c := NewCert(t, t.TempDir(), "node")
	n := testenv.StartNode(t, testenv.NewStore(t, f), TLSOptions(c, testenv.Options{}))
	// A failed verdict, so that every labelled series exists.
	if _, err := n.Client(t, f, testenv.App, nil).Attest(t.Context(), client.Evidence{Integrity: client.Integrity{Rooted: true}}); err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(n.Admin + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	exported := string(b)
	name := regexp.MustCompile(`attestd_[a-z_]+`)
	seen := 0
	queried := map[string]bool{}
	for _, p := range dash.Panels {
		for _, tg := range p.Targets {
			for _, m := range name.FindAllString(tg.Expr, -1) {
				base := strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(m, "_bucket"), "_count"), "_sum")
				seen++
				queried[base] = true
				if !strings.Contains(exported, "# TYPE "+base+" ") {
					t.Errorf("panel %q queries %s, which /metrics does not export", p.Title, m)
				}
			}
		}
	}
	if seen < 10 {
		t.Errorf("only %d metric references found in the dashboard", seen)
	}
	// The series an operator alerts on have a panel (docs/operator.md).
	for _, m := range []string{"attestd_android_status_age_seconds", "attestd_android_status_fetch_failures_total", "attestd_android_status_stale_total"} {
		if !queried[m] {
			t.Errorf("no panel queries %s", m)
		}
	}
}
