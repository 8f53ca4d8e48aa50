package daemon

import (
	"bytes"
	"flag"
	"strconv"
	"strings"
	"testing"
)

// TestProxyMaxInFlightSetting: --proxy-max-in-flight is a setting like the
// others (file, environment, flag, --print-config, -h), reaches the
// limiter's configuration apart from --max-in-flight, defaults to
// DefaultProxyMaxInFlight, refuses a negative value naming the flag, takes
// 0 (no bound), and, like --max-in-flight, is logged as needing a restart
// when a reload changes it.
func TestProxyMaxInFlightSetting(t *testing.T) {
	for _, tc := range []struct {
		name  string
		src   Sources
		want  int
		where string
	}{
		{"default", sources(nil, nil, nil), DefaultProxyMaxInFlight, "default"},
		{"file", sources([]string{"--config", "/etc/a.yaml"}, nil, map[string]string{"/etc/a.yaml": "proxy_max_in_flight: 7\n"}), 7, "file"},
		{"env", sources(nil, map[string]string{"ATTESTD_PROXY_MAX_IN_FLIGHT": "9"}, nil), 9, "env"},
		{"flag", sources([]string{"--proxy-max-in-flight", "0"}, nil, nil), 0, "flag"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l, err := LoadFlags(tc.src)
			if err != nil {
				t.Fatal(err)
			}
			c, err := l.Flags.Validate()
			if err != nil {
				t.Fatal(err)
			}
			if c.Limits.ProxyMaxInFlight != tc.want || c.Limits.MaxInFlight != DefaultFlags().MaxInFlight {
				t.Errorf("limits %+v, want ProxyMaxInFlight %d beside the default MaxInFlight", c.Limits, tc.want)
			}
			var out bytes.Buffer
			if err := l.WriteConfig(&out); err != nil {
				t.Fatal(err)
			}
			want := "proxy_max_in_flight: " + strconv.Itoa(tc.want) + " # " + tc.where
			if !strings.Contains(out.String(), want) {
				t.Errorf("--print-config lacks %q", want)
			}
		})
	}
	f := DefaultFlags()
	f.ProxyMaxInFlight = -1
	if _, err := f.Validate(); err == nil || !strings.Contains(err.Error(), "--proxy-max-in-flight") {
		t.Errorf("negative --proxy-max-in-flight: %v", err)
	}
	var help bytes.Buffer
	fs := flag.NewFlagSet("attestd", flag.ContinueOnError)
	fs.SetOutput(&help)
	hf := DefaultFlags()
	registerFlags(fs, &hf)
	fs.PrintDefaults()
	if !strings.Contains(help.String(), "-proxy-max-in-flight") || !strings.Contains(help.String(), "(default 1024)") {
		t.Errorf("attestd -h does not show --proxy-max-in-flight with its default")
	}
	a, err := DefaultFlags().Validate()
	if err != nil {
		t.Fatal(err)
	}
	b := a
	b.Limits.ProxyMaxInFlight, b.Limits.MaxInFlight = 1, 2
	if got := strings.Join(restartNeeded(a, b), ","); got != "max-in-flight,proxy-max-in-flight" {
		t.Errorf("a reload changing both bounds names %q, want max-in-flight,proxy-max-in-flight", got)
	}
}
