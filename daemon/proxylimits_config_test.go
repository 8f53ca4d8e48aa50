package daemon

import (
	"bytes"
	"flag"
	"strconv"
	"strings"
	"testing"

	"github.com/attestd/attestd/internal/limit"
)

// TestProxyLimitSettings: --proxy-max-in-flight and
// --proxy-max-in-flight-per-device are settings like the others (file,
// environment, flag, --print-config, -h with its default), each reaching
// its own field of the limiter's configuration and no other; a negative
// value is refused naming the flag, 0 (no bound) is taken, and, like
// --max-in-flight, a reload that changes one is logged as needing a
// restart.
func TestProxyLimitSettings(t *testing.T) {
	base, err := DefaultFlags().Validate()
	if err != nil {
		t.Fatal(err)
	}
	var help bytes.Buffer
	fs := flag.NewFlagSet("attestd", flag.ContinueOnError)
	fs.SetOutput(&help)
	hf := DefaultFlags()
	registerFlags(fs, &hf)
	fs.PrintDefaults()
	for _, s := range []struct {
		flag string
		def  int
		with func(limit.Config, int) limit.Config
		set  func(*Flags, int)
	}{
		{"proxy-max-in-flight", DefaultProxyMaxInFlight,
			func(c limit.Config, v int) limit.Config { c.ProxyMaxInFlight = v; return c },
			func(f *Flags, v int) { f.ProxyMaxInFlight = v }},
		{"proxy-max-in-flight-per-device", DefaultProxyMaxInFlightPerDevice,
			func(c limit.Config, v int) limit.Config { c.ProxyMaxInFlightPerDevice = v; return c },
			func(f *Flags, v int) { f.ProxyMaxInFlightPerDevice = v }},
	} {
		t.Run(s.flag, func(t *testing.T) {
			key := strings.ReplaceAll(s.flag, "-", "_")
			for _, tc := range []struct {
				src   Sources
				want  int
				where string
			}{
				{sources(nil, nil, nil), s.def, "default"},
				{sources([]string{"--config", "/etc/a.yaml"}, nil, map[string]string{"/etc/a.yaml": key + ": 7\n"}), 7, "file"},
				{sources(nil, map[string]string{"ATTESTD_" + strings.ToUpper(key): "9"}, nil), 9, "env"},
				{sources([]string{"--" + s.flag, "0"}, nil, nil), 0, "flag"},
			} {
				l, err := LoadFlags(tc.src)
				if err != nil {
					t.Fatal(err)
				}
				c, err := l.Flags.Validate()
				if err != nil {
					t.Fatal(err)
				}
				if want := s.with(base.Limits, tc.want); c.Limits != want {
					t.Errorf("%s: limits %+v, want %+v", tc.where, c.Limits, want)
				}
				var out bytes.Buffer
				if err := l.WriteConfig(&out); err != nil {
					t.Fatal(err)
				}
				if line := key + ": " + strconv.Itoa(tc.want) + " # " + tc.where; !strings.Contains(out.String(), line) {
					t.Errorf("--print-config lacks %q", line)
				}
			}
			f := DefaultFlags()
			s.set(&f, -1)
			if _, err := f.Validate(); err == nil || !strings.Contains(err.Error(), "--"+s.flag) {
				t.Errorf("negative --%s: %v", s.flag, err)
			}
			_, entry, _ := strings.Cut(help.String(), "-"+s.flag+" ")
			entry, _, _ = strings.Cut(entry, "\n  -")
			if !strings.Contains(entry, "(default "+strconv.Itoa(s.def)+")") {
				t.Errorf("attestd -h does not show --%s with its default:\n%s", s.flag, entry)
			}
			changed := base
			changed.Limits = s.with(base.Limits, s.def+1)
			if got := strings.Join(restartNeeded(base, changed), ","); got != s.flag {
				t.Errorf("a reload changing --%s names %q", s.flag, got)
			}
		})
	}
}
