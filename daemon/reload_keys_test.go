package daemon

import (
	"context"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/attestd/attestd/crypto/envelope"
	"github.com/attestd/attestd/internal/limit"
	"github.com/attestd/attestd/internal/testenv/logbuf"
)

func counterValue(t *testing.T, d *Daemon, result string) float64 {
	t.Helper()
	rec := httptest.NewRecorder()
	d.admin.Handler.ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	prefix := `attestd_reloads_total{result="` + result + `"} `
	for _, line := range strings.Split(rec.Body.String(), "\n") {
		if v, ok := strings.CutPrefix(line, prefix); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatal(err)
			}
			return f
		}
	}
	t.Fatalf("no %s in /metrics", prefix)
	return 0
}

// TestReloadMasterKeys: a SIGHUP reload re-reads the master key file from
// the path the node started with and hands it to the follower
// (internal/masterkeys tests what the follower adopts or refuses, and
// internal/e2e a rotation followed by running nodes). A file the follower
// refuses fails the reload, counted as an error, and the node keeps
// serving under its old keys; a good one is adopted, counted ok. No key
// shows in the log.
func TestReloadMasterKeys(t *testing.T) {
	dir := t.TempDir()
	keyPath := filepath.Join(dir, "node.key")
	first, err := envelope.NewKeyFile("m1", nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyPath, first, 0o600); err != nil {
		t.Fatal(err)
	}
	f := DefaultFlags()
	f.Store, f.MasterKey, f.Listen, f.AdminListen, f.LogLevel = "file://"+filepath.Join(dir, "store"), keyPath, "127.0.0.1:0", "127.0.0.1:0", "debug"
	cfg, err := f.Validate()
	if err != nil {
		t.Fatal(err)
	}
	cfg.Limits = limit.Config{}
	logs := &logbuf.Buffer{}
	d, err := New(context.Background(), cfg, Options{Stderr: logs})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(d.close)
	ctx := context.Background()
	rev0 := d.reg.Revision()

	if err := os.Remove(keyPath); err != nil {
		t.Fatal(err)
	}
	if err := d.Reload(ctx); err == nil || !strings.Contains(err.Error(), "no such file") {
		t.Fatalf("Reload without the key file = %v", err)
	}
	if counterValue(t, d, "error") != 1 || d.keys.ActiveKeyID() != "m1" || d.reg.Revision() != rev0 {
		t.Fatal("the failed reload is not counted, or changed the keys or the state")
	}
	if _, err := d.reg.Deployment(); err != nil {
		t.Fatalf("the node no longer opens what it serves: %v", err)
	}

	ks, err := envelope.ParseKeySet(first)
	if err != nil {
		t.Fatal(err)
	}
	if err := ks.Add("m2", nil); err != nil {
		t.Fatal(err)
	}
	if err := ks.Activate("m2"); err != nil {
		t.Fatal(err)
	}
	second := ks.Marshal()
	if err := os.WriteFile(keyPath, second, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := d.Reload(ctx); err != nil {
		t.Fatalf("Reload: %v", err)
	}
	if counterValue(t, d, "ok") != 1 || d.keys.ActiveKeyID() != "m2" || strings.Join(d.follower.IDs(), ",") != "m2,m1" {
		t.Fatalf("after reload: active %q, keys %v", d.keys.ActiveKeyID(), d.follower.IDs())
	}
	for _, line := range strings.Split(string(first)+string(second), "\n") {
		if _, key, ok := strings.Cut(line, ":"); ok && len(key) >= 40 && strings.Contains(logs.String(), key) {
			t.Fatal("a master key shows in the log")
		}
	}
}
