package daemon

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"strings"
	"testing"
	"time"
)

func sources(args []string, env map[string]string, files map[string]string) Sources {
	return Sources{
		Args:      args,
		LookupEnv: func(k string) (string, bool) { v, ok := env[k]; return v, ok },
		ReadFile: func(p string) ([]byte, error) {
			if v, ok := files[p]; ok {
				return []byte(v), nil
			}
			return nil, fs.ErrNotExist
		},
		Stat: func(p string) (os.FileInfo, error) {
			if _, ok := files[p]; ok {
				return nil, nil
			}
			return nil, fs.ErrNotExist
		},
	}
}

func TestLoadFlagsPrecedence(t *testing.T) {
	file := "nonce_ttl: 30s\nissuer: from-file\nlog_level: warn\ndrain_delay: 5s\n"
	l, err := LoadFlags(sources(
		[]string{"--config", "/etc/a.yaml", "--issuer", "from-flag"},
		map[string]string{"ATTESTD_ISSUER": "from-env", "ATTESTD_LOG_LEVEL": "debug"},
		map[string]string{"/etc/a.yaml": file}))
	if err != nil {
		t.Fatal(err)
	}
	f := l.Flags
	if f.Issuer != "from-flag" || f.LogLevel != "debug" || f.NonceTTL != 30*time.Second || f.DrainDelay != 5*time.Second || f.ReplayMax != DefaultFlags().ReplayMax {
		t.Errorf("flags > env > file > defaults broken: %+v", f)
	}
	want := map[string]string{"issuer": "flag", "log-level": "env", "nonce-ttl": "file", "replay-max": "default"}
	for k, v := range want {
		if l.Origin[k] != v {
			t.Errorf("origin of %s: %q, want %q", k, l.Origin[k], v)
		}
	}
	// The file named by the environment.
	l, err = LoadFlags(sources(nil, map[string]string{"ATTESTD_CONFIG": "/x.yaml"}, map[string]string{"/x.yaml": "issuer: x\n"}))
	if err != nil || l.Flags.Issuer != "x" {
		t.Fatalf("ATTESTD_CONFIG: %v %+v", err, l)
	}
}

func TestLoadFlagsStrict(t *testing.T) {
	for name, tc := range map[string]struct{ file, want string }{
		"unknown-key":       {"issuer: a\nlisten_adress: 1.2.3.4:80\n", `line 2: unknown key "listen_adress"`},
		"flag-spelling":     {"nonce-ttl: 30s\n", `unknown key "nonce-ttl"`},
		"config-in-config":  {"config: /other.yaml\n", `unknown key "config"`},
		"duplicate":         {"issuer: a\nissuer: b\n", `key "issuer" given twice`},
		"not-a-scalar":      {"issuer: [a, b]\n", `key "issuer": want a single value`},
		"bad-value":         {"nonce_ttl: soon\n", `line 1: key "nonce_ttl"`},
		"not-a-mapping":     {"- a\n", "want a mapping"},
		"yaml-syntax-error": {"issuer: 'a\n", "config /c.yaml"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := LoadFlags(sources([]string{"--config", "/c.yaml"}, nil, map[string]string{"/c.yaml": tc.file}))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want it to contain %q", err, tc.want)
			}
		})
	}
	if _, err := LoadFlags(sources(nil, map[string]string{"ATTESTD_NONCE_TTL": "x"}, nil)); err == nil || !strings.Contains(err.Error(), "ATTESTD_NONCE_TTL") {
		t.Errorf("bad env value: %v", err)
	}
	if _, err := LoadFlags(sources([]string{"--config", "/missing.yaml"}, nil, nil)); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
	if l, err := LoadFlags(sources([]string{"--config", "/empty.yaml"}, nil, map[string]string{"/empty.yaml": "# nothing\n"})); err != nil || l.Flags.Issuer != DefaultFlags().Issuer {
		t.Errorf("empty file: %v", err)
	}
}

func TestPrintConfigRedactsAndRoundTrips(t *testing.T) {
	env := map[string]string{"ATTESTD_PYROSCOPE_PASSWORD": "hunter2-secret", "ATTESTD_PYROSCOPE_SERVER": "https://p.example:4040"}
	l, err := LoadFlags(sources([]string{"--store", "etcd://user:pa55word@10.0.0.1:2379/attestd", "--print-config"}, env, nil))
	if err != nil {
		t.Fatal(err)
	}
	if !l.PrintConfig {
		t.Fatal("--print-config not seen")
	}
	var out bytes.Buffer
	if err := l.WriteConfig(&out); err != nil {
		t.Fatal(err)
	}
	s := out.String()
	for _, leak := range []string{"hunter2-secret", "pa55word"} {
		if strings.Contains(s, leak) {
			t.Errorf("--print-config shows a secret:\n%s", s)
		}
	}
	for _, want := range []string{"pyroscope_password: '[redacted]' # env", "issuer: attestd # default", "store: etcd://user:%5Bredacted%5D@10.0.0.1:2379/attestd # flag"} {
		if !strings.Contains(s, want) {
			t.Errorf("--print-config lacks %q:\n%s", want, s)
		}
	}
	// What it prints is a configuration file that loads to the same settings.
	l2, err := LoadFlags(sources([]string{"--config", "/p.yaml"}, nil, map[string]string{"/p.yaml": s}))
	if err != nil {
		t.Fatalf("printed config does not load: %v\n%s", err, s)
	}
	if l2.Flags.Issuer != l.Flags.Issuer || l2.Flags.NonceTTL != l.Flags.NonceTTL || l2.Flags.PyroscopeServer != l.Flags.PyroscopeServer {
		t.Errorf("round trip differs: %+v", l2.Flags)
	}
}

func TestMasterKeyCredential(t *testing.T) {
	files := map[string]string{"/run/credentials/attestd.service/master.key": "m1:..."}
	env := map[string]string{"CREDENTIALS_DIRECTORY": "/run/credentials/attestd.service"}
	l, err := LoadFlags(sources(nil, env, files))
	if err != nil || l.Flags.MasterKey != "/run/credentials/attestd.service/master.key" || l.Origin["master-key"] != "credential" {
		t.Fatalf("credential not used: %v %+v", err, l.Flags)
	}
	l, _ = LoadFlags(sources([]string{"--master-key", "/etc/k"}, env, files))
	if l.Flags.MasterKey != "/etc/k" {
		t.Errorf("--master-key should win over the credential: %q", l.Flags.MasterKey)
	}
	l, _ = LoadFlags(sources(nil, env, nil))
	if l.Flags.MasterKey != "" {
		t.Errorf("a missing credential must not be used: %q", l.Flags.MasterKey)
	}
}

func TestValidate(t *testing.T) {
	for name, tc := range map[string]struct {
		edit func(*Flags)
		want string
	}{
		"h3-needs-cert":   {func(f *Flags) { f.HTTP3Listen = "127.0.0.1:443" }, "--http3-listen needs --tls-cert"},
		"tls-needs-cert":  {func(f *Flags) { f.TLSListen = "127.0.0.1:443" }, "--tls-listen needs --tls-cert"},
		"cert-needs-key":  {func(f *Flags) { f.TLSCert = "x" }, "go together"},
		"no-listener":     {func(f *Flags) { f.Listen = "off" }, "no public listener"},
		"bad-pyroscope":   {func(f *Flags) { f.PyroscopeServer = "p:4040" }, "--pyroscope-server"},
		"negative-sample": {func(f *Flags) { f.VerdictLogEvery = -1 }, "--verdict-log-every"},
		"nonce-ttl":       {func(f *Flags) { f.NonceTTL = time.Hour }, "--nonce-ttl"},
	} {
		t.Run(name, func(t *testing.T) {
			f := DefaultFlags()
			tc.edit(&f)
			if _, err := f.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want %q", err, tc.want)
			}
		})
	}
	f := DefaultFlags()
	f.Listen, f.TLSListen, f.HTTP3Listen, f.TLSCert, f.TLSKey = "off", "[::]:443", "[::]:443", "c", "k"
	c, err := f.Validate()
	if err != nil || c.Listen.IsValid() || !c.TLS() {
		t.Errorf("TLS-only node: %v %+v", err, c)
	}
}

func TestCheckConfig(t *testing.T) {
	var out, errb bytes.Buffer
	if code := Main(t.Context(), []string{"check-config", "--store", "file://" + t.TempDir()}, &out, &errb); code != 0 || !strings.Contains(out.String(), "configuration OK") {
		t.Errorf("check-config: %d %q %q", code, out.String(), errb.String())
	}
	out.Reset()
	errb.Reset()
	if code := Main(t.Context(), []string{"check-config", "--tls-cert", "/nonexistent.crt", "--tls-key", "/nonexistent.key", "--tls-listen", "127.0.0.1:0"}, &out, &errb); code != 2 || !strings.Contains(errb.String(), "tls certificate") {
		t.Errorf("check-config with a missing cert: %d %q", code, errb.String())
	}
	errb.Reset()
	if code := Main(t.Context(), []string{"--nonce-ttl", "1h"}, &out, &errb); code != 2 {
		t.Errorf("bad flag value: exit %d", code)
	}
	out.Reset()
	if code := Main(t.Context(), []string{"--print-config", "--issuer", "me"}, &out, &errb); code != 0 || !strings.Contains(out.String(), "issuer: me # flag") {
		t.Errorf("--print-config: %d %q", code, out.String())
	}
}
