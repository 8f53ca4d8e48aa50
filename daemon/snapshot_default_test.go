package daemon

import (
	"strings"
	"testing"
)

// TestSnapshotDefaultOnRemoteStore: a node on etcd keeps a last-known-good
// snapshot without being told (it used to keep none unless --snapshot was
// given, so a node restarted during an etcd outage could not serve): in
// systemd's $STATE_DIRECTORY, else in the working directory. --snapshot ""
// from any source turns it off, a path given is kept, and a file store
// gets none.
func TestSnapshotDefaultOnRemoteStore(t *testing.T) {
	const etcd = "etcd://127.0.0.1:2379/attestd"
	for name, tc := range map[string]struct {
		args         []string
		env          map[string]string
		file         string
		want, origin string
	}{
		"etcd, no systemd":    {args: []string{"--store", etcd}, want: SnapshotFileName, origin: "default"},
		"etcd, systemd":       {args: []string{"--store", etcd}, env: map[string]string{"STATE_DIRECTORY": "/var/lib/attestd:/var/lib/other"}, want: "/var/lib/attestd/" + SnapshotFileName, origin: "state-directory"},
		"etcd, off by flag":   {args: []string{"--store", etcd, "--snapshot", ""}, env: map[string]string{"STATE_DIRECTORY": "/var/lib/attestd"}, want: "", origin: "flag"},
		"etcd, off by env":    {args: []string{"--store", etcd}, env: map[string]string{"ATTESTD_SNAPSHOT": "", "STATE_DIRECTORY": "/s"}, want: "", origin: "env"},
		"etcd, off by file":   {args: []string{"--store", etcd, "--config", "/c.yaml"}, file: "snapshot: \"\"\n", want: "", origin: "file"},
		"etcd, path given":    {args: []string{"--store", etcd, "--snapshot", "/srv/snap.json"}, env: map[string]string{"STATE_DIRECTORY": "/s"}, want: "/srv/snap.json", origin: "flag"},
		"etcd store from env": {env: map[string]string{"ATTESTD_STORE": etcd, "STATE_DIRECTORY": "/s"}, want: "/s/" + SnapshotFileName, origin: "state-directory"},
		"file store":          {args: []string{"--store", "file:///var/lib/attestd/store"}, env: map[string]string{"STATE_DIRECTORY": "/s"}, want: "", origin: "default"},
	} {
		files := map[string]string{}
		if tc.file != "" {
			files["/c.yaml"] = tc.file
		}
		l, err := LoadFlags(sources(tc.args, tc.env, files))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if l.Flags.Snapshot != tc.want || l.Origin["snapshot"] != tc.origin {
			t.Errorf("%s: snapshot %q (%s), want %q (%s)", name, l.Flags.Snapshot, l.Origin["snapshot"], tc.want, tc.origin)
		}
		cfg, err := l.Flags.Validate()
		if err != nil || cfg.Snapshot != tc.want {
			t.Errorf("%s: Validate: %q, %v", name, cfg.Snapshot, err)
		}
	}
	var b strings.Builder
	l, _ := LoadFlags(sources([]string{"--store", etcd}, map[string]string{"STATE_DIRECTORY": "/var/lib/attestd"}, nil))
	if err := l.WriteConfig(&b); err != nil || !strings.Contains(b.String(), "snapshot: /var/lib/attestd/"+SnapshotFileName+" # state-directory") {
		t.Errorf("--print-config: %v\n%s", err, b.String())
	}
}
