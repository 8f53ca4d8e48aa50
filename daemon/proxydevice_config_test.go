package daemon

import (
	"bytes"
	"flag"
	"strconv"
	"strings"
	"testing"
)

// TestProxyMaxInFlightPerDeviceSetting: --proxy-max-in-flight-per-device
// is a setting like the others (file, environment, flag, --print-config,
// -h), reaches the limiter's configuration beside --proxy-max-in-flight,
// defaults to DefaultProxyMaxInFlightPerDevice, refuses a negative value
// naming the flag, takes 0 (no bound), and, like --proxy-max-in-flight,
// is logged as needing a restart when a reload changes it.
func TestProxyMaxInFlightPerDeviceSetting(t *testing.T) {
	for _, tc := range []struct {
		name  string
		src   Sources
		want  int
		where string
	}{
		{"default", sources(nil, nil, nil), DefaultProxyMaxInFlightPerDevice, "default"},
		{"file", sources([]string{"--config", "/etc/a.yaml"}, nil, map[string]string{"/etc/a.yaml": "proxy_max_in_flight_per_device: 7\n"}), 7, "file"},
		{"env", sources(nil, map[string]string{"ATTESTD_PROXY_MAX_IN_FLIGHT_PER_DEVICE": "9"}, nil), 9, "env"},
		{"flag", sources([]string{"--proxy-max-in-flight-per-device", "0"}, nil, nil), 0, "flag"},
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
			if c.Limits.ProxyMaxInFlightPerDevice != tc.want || c.Limits.ProxyMaxInFlight != DefaultProxyMaxInFlight {
				t.Errorf("limits %+v, want ProxyMaxInFlightPerDevice %d beside the default ProxyMaxInFlight", c.Limits, tc.want)
			}
			var out bytes.Buffer
			if err := l.WriteConfig(&out); err != nil {
				t.Fatal(err)
			}
			want := "proxy_max_in_flight_per_device: " + strconv.Itoa(tc.want) + " # " + tc.where
			if !strings.Contains(out.String(), want) {
				t.Errorf("--print-config lacks %q", want)
			}
		})
	}
	f := DefaultFlags()
	f.ProxyMaxInFlightPerDevice = -1
	if _, err := f.Validate(); err == nil || !strings.Contains(err.Error(), "--proxy-max-in-flight-per-device") {
		t.Errorf("negative --proxy-max-in-flight-per-device: %v", err)
	}
	var help bytes.Buffer
	fs := flag.NewFlagSet("attestd", flag.ContinueOnError)
	fs.SetOutput(&help)
	hf := DefaultFlags()
	registerFlags(fs, &hf)
	fs.PrintDefaults()
	h := help.String()
	_, entry, _ := strings.Cut(h, "-proxy-max-in-flight-per-device ")
	entry, _, _ = strings.Cut(entry, "\n  -")
	if !strings.Contains(entry, "(default 16)") {
		t.Errorf("attestd -h does not show --proxy-max-in-flight-per-device with its default")
	}
	a, err := DefaultFlags().Validate()
	if err != nil {
		t.Fatal(err)
	}
	b := a
	b.Limits.ProxyMaxInFlightPerDevice = 1
	if got := strings.Join(restartNeeded(a, b), ","); got != "proxy-max-in-flight-per-device" {
		t.Errorf("a reload changing the per-device bound names %q, want proxy-max-in-flight-per-device", got)
	}
}
