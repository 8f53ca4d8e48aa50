package daemon

import (
	"bytes"
	"context"
	"encoding/base64"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/attestd/attestd/crypto/envelope"
	"github.com/attestd/attestd/internal/limit"
	"github.com/attestd/attestd/internal/state"
	"github.com/attestd/attestd/store"
	"github.com/attestd/attestd/store/open"
)

// syncBuffer is a log sink safe for the daemon's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// keyTest is a node (built by New, not run) on a file store whose master
// key file is keyPath, and an operator's copy of that file (adminPath)
// that rotations rewrite first.
type keyTest struct {
	t                  *testing.T
	d                  *Daemon
	storeURL           string
	keyPath, adminPath string
	logs               *syncBuffer
	now                atomic.Int64 // the node's clock, unix nanoseconds
	contents           [][]byte     // every key file written, for the leak check
}

func newKeyTest(t *testing.T) *keyTest {
	t.Helper()
	dir := t.TempDir()
	kt := &keyTest{t: t, storeURL: "file://" + filepath.Join(dir, "store"),
		keyPath: filepath.Join(dir, "node.key"), adminPath: filepath.Join(dir, "admin.key"), logs: &syncBuffer{}}
	kt.now.Store(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC).UnixNano())
	first, err := envelope.NewKeyFile("m1", nil)
	if err != nil {
		t.Fatal(err)
	}
	kt.write(kt.keyPath, first)
	kt.write(kt.adminPath, first)
	f := DefaultFlags()
	f.Store, f.MasterKey, f.Listen, f.AdminListen, f.LogLevel = kt.storeURL, kt.keyPath, "127.0.0.1:0", "127.0.0.1:0", "debug"
	cfg, err := f.Validate()
	if err != nil {
		t.Fatal(err)
	}
	cfg.Limits = limit.Config{}
	kt.d, err = New(context.Background(), cfg, Options{Stderr: kt.logs, Now: kt.clock})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(kt.d.close)
	return kt
}

func (kt *keyTest) clock() time.Time              { return time.Unix(0, kt.now.Load()) }
func (kt *keyTest) revision() int64               { return kt.d.reg.Revision() }
func (kt *keyTest) active() string                { return kt.d.keys.ActiveKeyID() }
func (kt *keyTest) copyAdminToNode()              { kt.write(kt.keyPath, kt.read(kt.adminPath)) }
func (kt *keyTest) read(path string) []byte       { b, _ := os.ReadFile(path); return b }
func (kt *keyTest) reloads(result string) float64 { return counterValue(kt.t, kt.d, result) }

// write replaces path atomically (mode 0600), as config management would.
func (kt *keyTest) write(path string, content []byte) {
	kt.t.Helper()
	kt.contents = append(kt.contents, bytes.Clone(content))
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, content, 0o600); err != nil {
		kt.t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		kt.t.Fatal(err)
	}
}

// rotate does what `attestctl --master-key admin.key master-key rotate
// --keep-old` does: the operator's file gets kid (active), and every sealed
// value of the store is re-sealed under it in one change. The node's file
// is left alone. It returns the new snapshot.
func (kt *keyTest) rotate(kid string) *store.Snapshot {
	kt.t.Helper()
	ks, err := envelope.ParseKeySet(kt.read(kt.adminPath))
	if err != nil {
		kt.t.Fatal(err)
	}
	if err := ks.Add(kid, nil); err != nil {
		kt.t.Fatal(err)
	}
	if err := ks.Activate(kid); err != nil {
		kt.t.Fatal(err)
	}
	kt.write(kt.adminPath, ks.Marshal())
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	st, kr, err := open.Open(ctx, kt.storeURL, open.Options{MasterKeyFile: kt.adminPath})
	if err != nil {
		kt.t.Fatal(err)
	}
	defer st.Close()
	n := 0
	if _, err := st.Update(ctx, state.Reseal(kr, &n)); err != nil {
		kt.t.Fatal(err)
	}
	snap, err := st.Load(ctx)
	if err != nil {
		kt.t.Fatal(err)
	}
	if n == 0 || state.SealedKeyIDs(snap)[kid] != n {
		kt.t.Fatalf("re-sealed %d values, %v", n, state.SealedKeyIDs(snap))
	}
	return snap
}

// noKeyInLogs fails the test if a key of any key file written shows in
// the node's log.
func (kt *keyTest) noKeyInLogs() {
	kt.t.Helper()
	logs := kt.logs.String()
	for _, c := range kt.contents {
		for _, line := range strings.Split(string(c), "\n") {
			_, key, ok := strings.Cut(strings.TrimSpace(line), ":")
			if !ok || strings.HasPrefix(line, "#") || len(key) < 40 {
				continue
			}
			raw, _ := base64.StdEncoding.DecodeString(key)
			for _, needle := range []string{key, key[:20], base64.RawURLEncoding.EncodeToString(raw)} {
				if strings.Contains(logs, needle) {
					kt.t.Fatalf("a master key shows in the log")
				}
			}
		}
	}
}

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

// TestReloadMasterKeys: a SIGHUP reload re-reads the master key file
// (internal/masterkeys has the follower's own tests). A file that is
// missing, malformed, too open, or that lacks a key the served state needs
// keeps the old keys (reload counted as an error); the operator's rotated
// file is adopted, and the store change that waited for it applies.
func TestReloadMasterKeys(t *testing.T) {
	kt := newKeyTest(t)
	ctx := context.Background()
	rev0 := kt.revision()
	if kt.active() != "m1" || rev0 == 0 {
		t.Fatalf("start: active %q, revision %d", kt.active(), rev0)
	}
	// The store is rotated to m2 under the node, whose file lists m1 only.
	snap := kt.rotate("m2")
	kt.d.follower.Apply(snap)
	if kt.revision() != rev0 || kt.active() != "m1" {
		t.Fatalf("a change sealed under an unknown key applied: revision %d", kt.revision())
	}
	if logs := kt.logs.String(); !strings.Contains(logs, "store change not applied") || !strings.Contains(logs, "unknown key id") ||
		!strings.Contains(logs, "master key file unchanged") {
		t.Fatalf("the refused change is not logged as such:\n%s", logs)
	}
	// A reload with no usable master key file changes nothing.
	other, err := envelope.NewKeyFile("m9", nil)
	if err != nil {
		t.Fatal(err)
	}
	bad := []struct {
		name, want string
		set        func()
	}{
		{"malformed", "malformed", func() { kt.write(kt.keyPath, []byte("m1:not-a-key\n")) }},
		{"empty", "no keys", func() { kt.write(kt.keyPath, []byte("# nothing\n")) }},
		{"group-readable", "chmod 600", func() { kt.copyAdminToNode(); _ = os.Chmod(kt.keyPath, 0o640) }},
		{"missing", "no such file", func() { _ = os.Remove(kt.keyPath) }},
		{"lacks-the-served-key", "does not open the state this node serves", func() { kt.write(kt.keyPath, other) }},
	}
	for i, tc := range bad {
		tc.set()
		err := kt.d.Reload(ctx)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Fatalf("%s: Reload = %v, want an error with %q", tc.name, err, tc.want)
		}
		if kt.active() != "m1" || kt.revision() != rev0 || strings.Join(kt.d.follower.IDs(), ",") != "m1" {
			t.Fatalf("%s: the failed reload changed the keys or the state", tc.name)
		}
		if got := kt.reloads("error"); got != float64(i+1) {
			t.Fatalf("%s: %v reload errors counted", tc.name, got)
		}
	}
	// The node still opens what it serves.
	if _, err := kt.d.reg.Deployment(); err != nil {
		t.Fatal(err)
	}
	// The operator's file (m2 active, m1 listed) is adopted, and the change
	// that waited for it applies.
	kt.copyAdminToNode()
	if err := kt.d.Reload(ctx); err != nil {
		t.Fatalf("Reload: %v", err)
	}
	if kt.revision() != snap.Revision || kt.active() != "m2" {
		t.Fatalf("after reload: revision %d (want %d), active %q", kt.revision(), snap.Revision, kt.active())
	}
	if kt.reloads("ok") != 1 {
		t.Fatal("the reload is not counted ok")
	}
	dep, err := kt.d.reg.Deployment()
	if err != nil || dep.Nonce.ActiveKey().IsZero() {
		t.Fatalf("deployment after reload: %v", err)
	}
	// A reload of the same file changes nothing and succeeds.
	if err := kt.d.Reload(ctx); err != nil || kt.active() != "m2" {
		t.Fatalf("Reload of an unchanged file: %v", err)
	}
	// Retiring m1 from the file is fine now that nothing served needs it.
	ks, _ := envelope.ParseKeySet(kt.read(kt.adminPath))
	if err := ks.Remove("m1"); err != nil {
		t.Fatal(err)
	}
	kt.write(kt.keyPath, ks.Marshal())
	if err := kt.d.Reload(ctx); err != nil || strings.Join(kt.d.follower.IDs(), ",") != "m2" {
		t.Fatalf("Reload of the retired file: %v, keys %v", err, kt.d.follower.IDs())
	}
	kt.noKeyInLogs()
}
