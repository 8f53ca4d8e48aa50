package daemon

import (
	"bytes"
	"strings"
	"testing"
)

// TestEtcdAllowPlaintextPasswordSetting: the daemon takes the setting as a
// flag, a file key and an environment variable, off by default, and
// --print-config shows it with its origin.
func TestEtcdAllowPlaintextPasswordSetting(t *testing.T) {
	l, err := LoadFlags(sources(nil, nil, nil))
	if err != nil || l.Flags.Etcd.AllowPlaintextPassword {
		t.Fatalf("default: %v, %v", err, l.Flags.Etcd.AllowPlaintextPassword)
	}
	for name, src := range map[string]Sources{
		"flag": sources([]string{"--etcd-allow-plaintext-password"}, nil, nil),
		"file": sources([]string{"--config", "/c.yaml"}, nil, map[string]string{"/c.yaml": "etcd_allow_plaintext_password: true\n"}),
		"env":  sources(nil, map[string]string{"ATTESTD_ETCD_ALLOW_PLAINTEXT_PASSWORD": "true"}, nil),
	} {
		l, err := LoadFlags(src)
		if err != nil || !l.Flags.Etcd.AllowPlaintextPassword || l.Origin["etcd-allow-plaintext-password"] != name {
			t.Fatalf("%s: %v, %+v", name, err, l)
		}
		var out bytes.Buffer
		if err := l.WriteConfig(&out); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(out.String(), "etcd_allow_plaintext_password: true # "+name) {
			t.Errorf("%s: print-config:\n%s", name, out.String())
		}
		c, err := l.Flags.Validate()
		if err != nil || !c.Etcd.AllowPlaintextPassword {
			t.Fatalf("%s: Validate: %v, %v", name, err, c.Etcd.AllowPlaintextPassword)
		}
	}
}
