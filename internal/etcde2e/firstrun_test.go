package etcde2e

import (
	"bytes"
	"context"
	"encoding/base64"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/attestd/attestd/client"
	"github.com/attestd/attestd/daemon"
	"github.com/attestd/attestd/internal/etcdtest"
	"github.com/attestd/attestd/internal/state"
	"github.com/attestd/attestd/internal/testenv/logbuf"
	"github.com/attestd/attestd/internal/testenv/poll"
)

// TestEtcdFirstRun is an etcd deployment's first hour, by the commands a
// user types: init without a master key says how to make one (the
// printed command is run in TestEtcdMissingKeyHintRunsAsPrinted) and names
// the etcd store (it used to say "filestore: master key: open …" for a
// key file that did not exist, and nothing made one); init
// --new-master-key writes the key file (0600) and initialises the store;
// master-key new never replaces it. A node started from the printed
// command, under systemd ($STATE_DIRECTORY), keeps its last-known-good
// snapshot there without being told (--snapshot used to be off unless
// given), so that restarted while etcd is down it serves from it.
func TestEtcdFirstRun(t *testing.T) {
	c := etcdtest.Start(t, etcdtest.Options{Members: 1})
	url := c.URL("firstrun")
	dir := t.TempDir()
	key := filepath.Join(dir, "master.key")

	_, errs, code := attestctl("--store", url, "init")
	if code == 0 || !strings.Contains(errs, "etcd store") || !strings.Contains(errs, "init --new-master-key master.key") || strings.Contains(errs, "filestore") {
		t.Fatalf("init without a key: exit %d: %s", code, errs)
	}
	_, errs, code = attestctl("--store", url, "--master-key", key, "init")
	if code == 0 || !strings.Contains(errs, "etcd store") || !strings.Contains(errs, "no such file") ||
		!strings.Contains(errs, "init --new-master-key "+key) || strings.Contains(errs, "filestore") {
		t.Fatalf("init with a key file that does not exist: exit %d: %s", code, errs)
	}
	out, errs, code := attestctl("--store", url, "init", "--demo", "--new-master-key", key)
	if code != 0 {
		t.Fatalf("init --new-master-key: exit %d: %s", code, errs)
	}
	fi, err := os.Stat(key)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v %v", fi, err)
	}
	keyBytes, _ := os.ReadFile(key)
	if _, errs, code := attestctl("master-key", "new", key); code == 0 || !strings.Contains(errs, "exists") {
		t.Fatalf("master-key new over the key file: exit %d: %s", code, errs)
	}
	if again, _ := os.ReadFile(key); !bytes.Equal(again, keyBytes) {
		t.Fatal("master-key new changed an existing key file")
	}
	serve := shellWords(t, line(t, out, "attestd "))
	if strings.Join(serve, " ") != "attestd --store "+url+" --master-key "+key {
		t.Fatalf("serve hint %q", serve)
	}
	secret, errs, code := attestctl("--store", url, "--master-key", key, "key", "show-secret", state.Demo().AccountID, "k1")
	if code != 0 {
		t.Fatalf("key show-secret: %s", errs)
	}
	hsKey, err := base64.StdEncoding.DecodeString(strings.TrimSpace(secret))
	if err != nil {
		t.Fatal(err)
	}

	stateDir := filepath.Join(dir, "state")
	if err := os.Mkdir(stateDir, 0o700); err != nil {
		t.Fatal(err)
	}
	start := func() (*daemon.Daemon, func()) {
		t.Helper()
		l, err := daemon.LoadFlags(daemon.Sources{Args: append(serve[1:], "--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0"),
			LookupEnv: func(k string) (string, bool) {
				return map[string]string{"STATE_DIRECTORY": stateDir}[k], k == "STATE_DIRECTORY"
			}})
		if err != nil {
			t.Fatal(err)
		}
		cfg, err := l.Flags.Validate()
		if err != nil {
			t.Fatal(err)
		}
		if want := filepath.Join(stateDir, daemon.SnapshotFileName); cfg.Snapshot != want {
			t.Fatalf("snapshot %q, want %q by default", cfg.Snapshot, want)
		}
		ctx, cancel := context.WithCancel(context.Background())
		d, err := daemon.New(ctx, cfg, daemon.Options{Stderr: &logbuf.Buffer{}})
		if err != nil {
			cancel()
			t.Fatalf("start: %v", err)
		}
		done := make(chan error, 1)
		go func() { done <- d.Run(ctx) }()
		return d, func() { cancel(); <-done }
	}
	d, stop := start()
	demoPasses(t, d, hsKey, "first node")
	snap := filepath.Join(stateDir, daemon.SnapshotFileName)
	poll.Until(t, 30*time.Second, "snapshot file written", func() bool { _, err := os.Stat(snap); return err == nil })
	stop()

	c.KillAll()
	d, stop = start()
	defer stop()
	if code, body := get(t, "http://"+d.AdminAddr().String()+"/readyz"); code != 200 || !strings.Contains(body, "degraded") {
		t.Fatalf("restarted during the outage: /readyz %d %s", code, body)
	}
	demoPasses(t, d, hsKey, "node restarted while etcd is down")
}

// demoPasses attests the demo app on d and checks that the token verifies
// under the demo account's HS256 key (a failed verdict is signed by a
// decoy).
func demoPasses(t *testing.T, d *daemon.Daemon, hsKey []byte, what string) {
	t.Helper()
	demo := state.Demo()
	c, err := client.New(client.Config{BaseURL: "http://" + d.Addr().String(), HTTP: &http.Client{Timeout: 5 * time.Second},
		App: client.App{ID: demo.AppID, Version: demo.Version, Platform: demo.Platform, Signer: demo.Signer, CodeDigest: demo.CodeDigest}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	r, err := c.Attest(ctx, client.Evidence{})
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	if _, err := jwt.Parse(r.Token, func(*jwt.Token) (any, error) { return hsKey, nil }, jwt.WithValidMethods([]string{"HS256"})); err != nil {
		t.Fatalf("%s: verdict did not pass: %v", what, err)
	}
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := (&http.Client{Timeout: 5 * time.Second}).Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}
