package e2e

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/attestd/attestd/daemon"
	"github.com/attestd/attestd/internal/testenv"
)

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestAdminEndpoints: health, readiness with the revision, metrics, and
// profiles only when --pprof asks for them.
func TestAdminEndpoints(t *testing.T) {
	f := testenv.NewFixture(t)
	s := testenv.NewStore(t, f)
	plain := testenv.StartNode(t, s, testenv.Options{})
	if st, body := get(t, plain.Admin+"/healthz"); st != 200 {
		t.Fatalf("healthz %d %s", st, body)
	}
	if st, body := get(t, plain.Admin+"/readyz"); st != 200 || !strings.Contains(body, "revision=") {
		t.Fatalf("readyz %d %s", st, body)
	}
	if st, body := get(t, plain.Admin+"/metrics"); st != 200 || !strings.Contains(body, "attestd_store_sync_age_seconds") {
		t.Fatalf("metrics %d", st)
	}
	if st, _ := get(t, plain.Admin+"/debug/pprof/"); st != 404 {
		t.Fatalf("pprof without --pprof: %d", st)
	}
	prof := testenv.StartNode(t, s, testenv.Options{Edit: func(c *daemon.Config) { c.Pprof = true }})
	if st, body := get(t, prof.Admin+"/debug/pprof/"); st != 200 || !strings.Contains(body, "goroutine") {
		t.Fatalf("pprof with --pprof: %d", st)
	}
	if st, _ := get(t, prof.Base+"/debug/pprof/"); st != 404 {
		t.Fatalf("pprof on the public listener: %d", st)
	}
}
