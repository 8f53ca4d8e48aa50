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
	"github.com/attestd/attestd/internal/model"
	"github.com/attestd/attestd/internal/state"
	"github.com/attestd/attestd/internal/testenv"
	"github.com/attestd/attestd/internal/testenv/h3test"
)

// TestDashboardMetricsExist: every attestd_* series the Grafana dashboard
// queries is exported by a running node (HTTPS and HTTP/3 on), so the
// dashboard cannot silently drift from the metric names; and every label
// a panel selects on (mode="monitor", outcome, result, ...) is one the
// series carry once the traffic it is about has been seen: an enforce
// failure, a monitor-mode failure, a debug token use.
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
	c := h3test.NewCert(t, t.TempDir(), "node")
	s := testenv.NewStore(t, f)
	s.Update(t, func(seal state.Sealer) state.Mutation {
		return state.SetEnforcement(seal, testenv.AppLenient, model.EnforcementMonitor, nil)
	})
	n := testenv.StartNode(t, s, h3test.TLSOptions(c, testenv.Options{}))
	// Failed verdicts of both modes, and a debug token, so that every
	// labelled series exists.
	if _, err := n.Client(t, f, testenv.App, nil).Attest(t.Context(), client.Evidence{Integrity: client.Integrity{Rooted: true}}); err != nil {
		t.Fatal(err)
	}
	monitored, err := client.New(client.Config{BaseURL: n.Base, App: f.ClientApp(testenv.AppLenient), Now: n.Clock.Now, DebugToken: "adt_unknown"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := monitored.Attest(t.Context(), client.Evidence{}); err != nil {
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
	// The series an operator alerts on have a panel (docs/operator.md),
	// and so do both pools of places in flight, the API's and the proxy's.
	for _, m := range []string{"attestd_android_status_age_seconds", "attestd_android_status_fetch_failures_total", "attestd_android_status_stale_total",
		"attestd_limit_in_flight", "attestd_limit_max_in_flight", "attestd_limit_proxy_in_flight", "attestd_limit_proxy_max_in_flight",
		"attestd_limit_refused_total"} {
		if !queried[m] {
			t.Errorf("no panel queries %s", m)
		}
	}
	checkSelectors(t, dash.Panels, exported)
}

// checkSelectors: for each metric{label="value", ...} of a panel (but the
// instance variable), an exported sample of that metric has the label with
// that value.
func checkSelectors(t *testing.T, panels []struct {
	Title   string
	Targets []struct{ Expr string }
}, exported string) {
	t.Helper()
	sel := regexp.MustCompile(`(attestd_[a-z_]+)\{([^}]*)\}`)
	pair := regexp.MustCompile(`([a-z_]+)="([^"]*)"`)
	checked := 0
	for _, p := range panels {
		for _, tg := range p.Targets {
			for _, m := range sel.FindAllStringSubmatch(tg.Expr, -1) {
				for _, lv := range pair.FindAllStringSubmatch(m[2], -1) {
					want := lv[1] + `="` + lv[2] + `"`
					found := false
					for _, line := range strings.Split(exported, "\n") {
						if strings.HasPrefix(line, m[1]+"{") && strings.Contains(line, want) {
							found = true
							break
						}
					}
					checked++
					if !found {
						t.Errorf("panel %q selects %s{%s}, which no exported series has", p.Title, m[1], want)
					}
				}
			}
		}
	}
	if checked < 8 {
		t.Errorf("only %d label selectors checked", checked)
	}
}
