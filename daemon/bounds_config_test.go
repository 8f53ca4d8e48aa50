package daemon

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/attestd/attestd/internal/h3api"
)

// TestListenerBoundsSettings: the public listeners' timeouts and the
// HTTP/3 bounds are settings like the others (file, environment, flag,
// --print-config), with HTTP/1.1's defaults, and a value that bounds
// nothing (zero, negative, huge) is refused naming the flag.
func TestListenerBoundsSettings(t *testing.T) {
	files := map[string]string{"/etc/a.yaml": "read_timeout: 5s\nhttp3_max_conns_per_ip: 4\n"}
	env := map[string]string{"ATTESTD_HTTP3_MAX_STREAMS": "16"}
	l, err := LoadFlags(sources([]string{"--config", "/etc/a.yaml", "--proxy-stream-timeout", "2m"}, env, files))
	if err != nil {
		t.Fatal(err)
	}
	c, err := l.Flags.Validate()
	if err != nil {
		t.Fatal(err)
	}
	if c.ReadTimeout != 5*time.Second || c.HTTP3MaxConnsPerIP != 4 || c.HTTP3MaxStreams != 16 || c.ProxyStreamTimeout != 2*time.Minute ||
		c.WriteTimeout != 10*time.Second || c.IdleTimeout != time.Minute {
		t.Errorf("loaded %+v", c)
	}
	var out bytes.Buffer
	if err := l.WriteConfig(&out); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"read_timeout: 5s # file", "write_timeout: 10s # default", "idle_timeout: 1m0s # default",
		"http3_max_streams: 16 # env", "http3_max_conns_per_ip: 4 # file", "proxy_stream_timeout: 2m0s # flag"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("--print-config lacks %q", want)
		}
	}
	d := DefaultFlags()
	if d.ReadTimeout != h3api.DefaultReadTimeout || d.HTTP3MaxStreams != h3api.DefaultMaxStreams || d.HTTP3MaxConnsPerIP != h3api.DefaultMaxConnsPerIP {
		t.Errorf("defaults %+v", d)
	}
	for name, edit := range map[string]func(*Flags){
		"--read-timeout":           func(f *Flags) { f.ReadTimeout = 0 },
		"--write-timeout":          func(f *Flags) { f.WriteTimeout = time.Hour },
		"--idle-timeout":           func(f *Flags) { f.IdleTimeout = -time.Second },
		"--proxy-stream-timeout":   func(f *Flags) { f.ProxyStreamTimeout = 0 },
		"--http3-max-streams":      func(f *Flags) { f.HTTP3MaxStreams = 0 },
		"--http3-max-conns-per-ip": func(f *Flags) { f.HTTP3MaxConnsPerIP = 1 << 20 },
	} {
		f := DefaultFlags()
		edit(&f)
		if _, err := f.Validate(); err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("%s out of range: %v", name, err)
		}
	}
}

// TestProxySignatureSettings: the @authority the proxy expects in signed
// requests and the signature window are settings (file, flag,
// --print-config) that reach the proxy, and values that are no authority
// (a URL, a path, a user, a bad port) or a window that bounds nothing are
// refused naming the flag.
func TestProxySignatureSettings(t *testing.T) {
	files := map[string]string{"/etc/a.yaml": "proxy_authority: edge.example.com:8443\n"}
	l, err := LoadFlags(sources([]string{"--config", "/etc/a.yaml", "--proxy-signature-window", "30s"}, nil, files))
	if err != nil {
		t.Fatal(err)
	}
	c, err := l.Flags.Validate()
	if err != nil {
		t.Fatal(err)
	}
	if c.ProxyAuthority != "edge.example.com:8443" || c.ProxySignatureWindow != 30*time.Second {
		t.Errorf("loaded authority %q, window %v", c.ProxyAuthority, c.ProxySignatureWindow)
	}
	var out bytes.Buffer
	if err := l.WriteConfig(&out); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"proxy_authority: edge.example.com:8443 # file", "proxy_signature_window: 30s # flag"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("--print-config lacks %q:\n%s", want, out.String())
		}
	}
	if d := DefaultFlags(); d.ProxyAuthority != "" || d.ProxySignatureWindow != time.Minute {
		t.Errorf("defaults: authority %q, window %v", d.ProxyAuthority, d.ProxySignatureWindow)
	}
	for _, a := range []string{"https://edge.example.com", "edge.example.com/v1", "user@edge.example.com", "edge.example.com:0",
		"edge.example.com:99999", "edge.example.com:https", "edge example", ":443", "edge.example.com?x=1"} {
		f := DefaultFlags()
		f.ProxyAuthority = a
		if _, err := f.Validate(); err == nil || !strings.Contains(err.Error(), "--proxy-authority") {
			t.Errorf("--proxy-authority %q: %v", a, err)
		}
	}
	for _, w := range []time.Duration{0, -time.Second, time.Hour} {
		f := DefaultFlags()
		f.ProxySignatureWindow = w
		if _, err := f.Validate(); err == nil || !strings.Contains(err.Error(), "--proxy-signature-window") {
			t.Errorf("--proxy-signature-window %v: %v", w, err)
		}
	}
	for _, a := range []string{"edge.example.com", "EDGE.example.com:8443", "[2001:db8::1]:8443", "127.0.0.1"} {
		f := DefaultFlags()
		f.ProxyAuthority = a
		if _, err := f.Validate(); err != nil {
			t.Errorf("--proxy-authority %q refused: %v", a, err)
		}
	}
}
