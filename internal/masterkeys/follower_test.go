package masterkeys

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/attestd/attestd/crypto/envelope"
	"github.com/attestd/attestd/internal/recordauth"
	"github.com/attestd/attestd/internal/registry"
	"github.com/attestd/attestd/internal/state"
	"github.com/attestd/attestd/internal/testenv/logbuf"
	"github.com/attestd/attestd/store"
	"github.com/attestd/attestd/store/open"
)

// keyTest is a node's keys, registry and follower over a real file store
// whose master key file (as the node reads it) is keyPath, and an
// operator's copy of that file (adminPath) that rotations rewrite first.
type keyTest struct {
	t                  *testing.T
	storeURL           string
	keyPath, adminPath string
	logs               *logbuf.Buffer
	now                atomic.Int64 // the follower's clock, unix nanoseconds
	contents           [][]byte     // every key file written, for the leak check
	keys               *Keys
	reg                *registry.Registry
	f                  *Follower
	applied            []int64 // revisions reported by Config.Applied
	failed, refused    int     // calls of Config.Failed and Config.Refused
}

func newKeyTest(t *testing.T) *keyTest {
	t.Helper()
	dir := t.TempDir()
	kt := &keyTest{t: t, storeURL: "file://" + filepath.Join(dir, "store"),
		keyPath: filepath.Join(dir, "node.key"), adminPath: filepath.Join(dir, "admin.key"), logs: &logbuf.Buffer{}}
	kt.now.Store(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC).UnixNano())
	first, err := envelope.NewKeyFile("m1", nil)
	if err != nil {
		t.Fatal(err)
	}
	kt.write(kt.keyPath, first)
	kt.write(kt.adminPath, first)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	st, _, err := open.Open(ctx, kt.storeURL, open.Options{MasterKeyFile: kt.keyPath})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if kt.keys, err = Load(kt.keyPath); err != nil {
		t.Fatal(err)
	}
	if _, err := st.(*recordauth.Store).WithKeys(kt.keys).Update(ctx, state.EnsureDeployment(kt.keys, rand.Reader)); err != nil {
		t.Fatal(err)
	}
	snap, err := st.Load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if kt.reg, err = registry.New(registry.Config{Sealer: kt.keys, Records: kt.keys}); err != nil {
		t.Fatal(err)
	}
	if err := kt.reg.Swap(snap); err != nil {
		t.Fatal(err)
	}
	kt.f = NewFollower(kt.keys, Config{Registry: kt.reg, Now: kt.clock,
		Log:     slog.New(slog.NewTextHandler(kt.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Applied: func(s *store.Snapshot) { kt.applied = append(kt.applied, s.Revision) },
		Failed:  func() { kt.failed++ },
		Refused: func(*store.Snapshot, error) { kt.refused++ }})
	return kt
}

func (kt *keyTest) clock() time.Time        { return time.Unix(0, kt.now.Load()) }
func (kt *keyTest) advance(d time.Duration) { kt.now.Add(int64(d)) }
func (kt *keyTest) revision() int64         { return kt.reg.Revision() }
func (kt *keyTest) held() *envelope.Keyring { return kt.keys.cur.Load() }
func (kt *keyTest) copyAdminToNode()        { kt.write(kt.keyPath, kt.read(kt.adminPath)) }
func (kt *keyTest) read(path string) []byte { b, _ := os.ReadFile(path); return b }
func (kt *keyTest) pending() *store.Snapshot {
	kt.f.mu.Lock()
	defer kt.f.mu.Unlock()
	return kt.f.pending
}

// reload does what a node's reload does with the key file: read it, and
// hand it to the follower.
func (kt *keyTest) reload() error {
	kf, err := ReadFile(kt.keys.Path())
	if err != nil {
		return err
	}
	return kt.f.Reload(kf)
}

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
// the follower's log.
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

// TestReloadMasterKeys: a reload re-reads the master key file. A file
// that is missing, malformed, too open, or that lacks a key the served
// state needs keeps the old keys; the operator's rotated file is adopted,
// and the store change that waited for it applies.
func TestReloadMasterKeys(t *testing.T) {
	kt := newKeyTest(t)
	rev0, kr0 := kt.revision(), kt.held()
	if kr0.ActiveKeyID() != "m1" || rev0 == 0 {
		t.Fatalf("start: active %q, revision %d", kr0.ActiveKeyID(), rev0)
	}
	// The store is rotated to m2 under the node, whose file lists m1 only.
	snap := kt.rotate("m2")
	kt.f.Apply(snap)
	if kt.revision() != rev0 || kt.pending() != snap || kt.held() != kr0 {
		t.Fatalf("a change sealed under an unknown key applied: revision %d", kt.revision())
	}
	if logs := kt.logs.String(); !strings.Contains(logs, "store change not applied") || !strings.Contains(logs, "unknown key id") ||
		!strings.Contains(logs, "master key file unchanged") {
		t.Fatalf("the refused change is not logged as such:\n%s", logs)
	}
	if kt.failed != 1 || kt.refused != 1 || len(kt.applied) != 0 {
		t.Fatalf("hooks: %d failed, %d refused, applied %v; want 1, 1, none", kt.failed, kt.refused, kt.applied)
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
	for _, tc := range bad {
		tc.set()
		err := kt.reload()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Fatalf("%s: reload = %v, want an error with %q", tc.name, err, tc.want)
		}
		if kt.held() != kr0 || kt.revision() != rev0 || kt.pending() != snap {
			t.Fatalf("%s: the failed reload changed the keys or the state", tc.name)
		}
	}
	// The node still opens what it serves.
	if _, err := kt.reg.Deployment(); err != nil {
		t.Fatal(err)
	}
	// The operator's file (m2 active, m1 listed) is adopted, and the change
	// that waited for it applies.
	kt.copyAdminToNode()
	if err := kt.reload(); err != nil {
		t.Fatalf("reload: %v", err)
	}
	if kt.revision() != snap.Revision || kt.pending() != nil || kt.held().ActiveKeyID() != "m2" {
		t.Fatalf("after reload: revision %d (want %d), active %q", kt.revision(), snap.Revision, kt.held().ActiveKeyID())
	}
	if len(kt.applied) != 1 || kt.applied[0] != snap.Revision {
		t.Fatalf("Applied told %v, want [%d]", kt.applied, snap.Revision)
	}
	dep, err := kt.reg.Deployment()
	if err != nil || dep.Nonce.ActiveKey().IsZero() {
		t.Fatalf("deployment after reload: %v", err)
	}
	// A reload of the same file changes nothing and succeeds.
	kr2 := kt.held()
	if err := kt.reload(); err != nil || kt.held() != kr2 {
		t.Fatalf("reload of an unchanged file: %v", err)
	}
	// Retiring m1 from the file is fine now that nothing served needs it.
	ks, _ := envelope.ParseKeySet(kt.read(kt.adminPath))
	if err := ks.Remove("m1"); err != nil {
		t.Fatal(err)
	}
	kt.write(kt.keyPath, ks.Marshal())
	if err := kt.reload(); err != nil || strings.Join(kt.f.IDs(), ",") != "m2" {
		t.Fatalf("reload of the retired file: %v, keys %v", err, kt.f.IDs())
	}
	kt.noKeyInLogs()
}

// TestMasterKeySelfHeal: with no signal, a store change sealed under a key
// the node lacks makes it re-read its master key file, at most once a
// second (by the follower's clock); the change applies as soon as the
// file lists the key, whether the file was updated before the change
// reached the node or after.
func TestMasterKeySelfHeal(t *testing.T) {
	kt := newKeyTest(t)
	// The file is updated first (a node sharing the operator's file).
	snap := kt.rotate("m2")
	kt.copyAdminToNode()
	kt.f.Apply(snap)
	if kt.revision() != snap.Revision || kt.held().ActiveKeyID() != "m2" || kt.pending() != nil {
		t.Fatalf("not applied at once: revision %d, active %q", kt.revision(), kt.held().ActiveKeyID())
	}
	if strings.Contains(kt.logs.String(), "not applied") || kt.refused != 0 {
		t.Fatalf("logged or reported as not applied:\n%s", kt.logs.String())
	}

	// The store first, the file later: the change waits, then applies on
	// the first retry after the file changed and a second has passed.
	kt.advance(2 * time.Second)
	snap = kt.rotate("m3")
	kt.f.Apply(snap) // re-reads: the file does not list m3 yet
	if kt.revision() == snap.Revision || kt.pending() != snap {
		t.Fatal("applied without m3")
	}
	kt.f.retry(false) // nothing new
	kt.copyAdminToNode()
	kt.advance(500 * time.Millisecond)
	kt.f.retry(false) // within the second: not re-read
	if kt.revision() == snap.Revision {
		t.Fatal("the key file was re-read twice within a second")
	}
	kt.advance(600 * time.Millisecond)
	kt.f.retry(false)
	if kt.revision() != snap.Revision || kt.held().ActiveKeyID() != "m3" || kt.pending() != nil {
		t.Fatalf("not applied once the file listed m3: revision %d, active %q", kt.revision(), kt.held().ActiveKeyID())
	}

	// A file that does not have the key: the change stays pending, the
	// node keeps serving, and the unchanged file is not re-reported.
	kt.advance(2 * time.Second)
	snap = kt.rotate("m4")
	kt.f.Apply(snap)
	before := strings.Count(kt.logs.String(), "level=WARN")
	for range 3 {
		kt.advance(2 * time.Second)
		kt.f.retry(false)
	}
	if kt.revision() == snap.Revision || kt.held().ActiveKeyID() != "m3" {
		t.Fatal("applied without m4")
	}
	if after := strings.Count(kt.logs.String(), "level=WARN"); after != before {
		t.Fatalf("%d warnings for an unchanged key file", after-before)
	}
	if _, err := kt.reg.Deployment(); err != nil {
		t.Fatal(err)
	}

	// A value naming a key the node lacks nudges the follower.
	if _, err := kt.keys.Open("v1:m7:"+strings.Repeat("A", 40), "x"); err == nil {
		t.Fatal("opened under an unknown key")
	}
	select {
	case <-kt.keys.nudge:
	default:
		t.Fatal("an unknown key id did not nudge the follower")
	}
	kt.noKeyInLogs()
}

// TestRunAppliesWhenNudged: Run, nudged by an Open under a key the node
// lacks, re-reads the key file and adopts it, without a store change.
func TestRunAppliesWhenNudged(t *testing.T) {
	kt := newKeyTest(t)
	lines := make(chan string, 16)
	kt.f.cfg.Log = slog.New(notifyHandler{lines})
	ks, _ := envelope.ParseKeySet(kt.read(kt.adminPath))
	if err := ks.Add("m2", nil); err != nil {
		t.Fatal(err)
	}
	kt.write(kt.keyPath, ks.Marshal())
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() { defer close(stopped); kt.f.Run(done) }()
	defer func() { close(done); <-stopped }()
	_, _ = kt.keys.Open("v1:m2:"+strings.Repeat("A", 40), "x")
	select {
	case msg := <-lines:
		if !strings.HasPrefix(msg, "master key file re-read; its keys are in use") {
			t.Fatalf("logged %q", msg)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the nudge was not followed")
	}
	if got := strings.Join(kt.f.IDs(), ","); got != "m1,m2" {
		t.Fatalf("keys %v after the re-read", got)
	}
}

// notifyHandler sends the message of every record to a channel.
type notifyHandler struct{ msgs chan<- string }

func (h notifyHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h notifyHandler) Handle(_ context.Context, r slog.Record) error {
	h.msgs <- r.Message
	return nil
}
func (h notifyHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h notifyHandler) WithGroup(string) slog.Handler      { return h }

// TestMasterKeysOpenAllocs: the registry's way to the keys allocates no
// more than the keyring itself.
func TestMasterKeysOpenAllocs(t *testing.T) {
	b, err := envelope.NewKeyFile("m1", nil)
	if err != nil {
		t.Fatal(err)
	}
	kr, err := envelope.ParseKeyFile(b)
	if err != nil {
		t.Fatal(err)
	}
	k := &Keys{nudge: make(chan struct{}, 1)}
	k.cur.Store(kr)
	sealed, err := k.Seal([]byte("value"), "accounts/a")
	if err != nil {
		t.Fatal(err)
	}
	direct := testing.AllocsPerRun(100, func() { _, _ = kr.Open(sealed, "accounts/a") })
	wrapped := testing.AllocsPerRun(100, func() { _, _ = k.Open(sealed, "accounts/a") })
	if wrapped > direct {
		t.Fatalf("Keys.Open: %v allocations, the keyring's %v", wrapped, direct)
	}
}
