package daemon

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/attestd/attestd/store"
)

// TestStoreResumedIsLogged: a store that goes away is logged once as
// degraded, and its return once as resumed, with how long it was away;
// a reason that changes while it stays away logs nothing more.
func TestStoreResumedIsLogged(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, nil))
	var w healthWatch
	t0 := time.Unix(1_800_000_000, 0)
	ok := store.HealthStatus{LastContact: t0}
	w.observe(ok, t0, log)
	if buf.Len() != 0 {
		t.Fatalf("a healthy store logged: %s", buf.String())
	}
	w.observe(store.HealthStatus{LastContact: t0, Degraded: "no word from etcd for 16s"}, t0.Add(16*time.Second), log)
	w.observe(store.HealthStatus{LastContact: t0, Degraded: "no word from etcd for 17s"}, t0.Add(17*time.Second), log)
	w.observe(store.HealthStatus{LastContact: t0.Add(40 * time.Second)}, t0.Add(40*time.Second), log)
	w.observe(store.HealthStatus{LastContact: t0.Add(41 * time.Second)}, t0.Add(41*time.Second), log)
	out := buf.String()
	if strings.Count(out, "store degraded") != 1 || strings.Count(out, "store resumed") != 1 {
		t.Fatalf("want one degraded and one resumed line:\n%s", out)
	}
	for _, want := range []string{`why="no word from etcd for 16s"`, "data_age=16s", "degraded_for=24s", "level=WARN", "level=INFO"} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %s:\n%s", want, out)
		}
	}
	// Never connected: the age is unknown, not the age of the epoch.
	buf.Reset()
	var w2 healthWatch
	w2.observe(store.HealthStatus{Degraded: "not connected to etcd yet"}, t0, log)
	if !strings.Contains(buf.String(), "data_age=unknown") {
		t.Errorf("never-connected store: %s", buf.String())
	}
}
