package daemon

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/attestd/attestd/crypto/secret"
	"github.com/attestd/attestd/internal/attest"
)

func TestUDPBufferWarnings(t *testing.T) {
	read := func(vals map[string]string) func(string) ([]byte, error) {
		return func(p string) ([]byte, error) {
			v, ok := vals[p]
			if !ok {
				return nil, errors.New("no such file")
			}
			return []byte(v), nil
		}
	}
	ok := udpBufferWarnings(read(map[string]string{"/proc/sys/net/core/rmem_max": "7500000\n", "/proc/sys/net/core/wmem_max": "8000000\n"}))
	if len(ok) != 0 {
		t.Errorf("big enough buffers warned: %v", ok)
	}
	w := udpBufferWarnings(read(map[string]string{"/proc/sys/net/core/rmem_max": "212992\n"}))
	if len(w) != 2 || !strings.Contains(w[0], "net.core.rmem_max is 212992") || !strings.Contains(w[0], "sysctl -w net.core.rmem_max=7500000") ||
		!strings.Contains(w[1], "cannot read /proc/sys/net/core/wmem_max") {
		t.Errorf("warnings: %q", w)
	}
}

type countObserver struct{ pass, fail, challenges int }

func (c *countObserver) Verdict(o attest.Outcome) {
	if o.Passed {
		c.pass++
	} else {
		c.fail++
	}
}
func (c *countObserver) Challenge() { c.challenges++ }

func TestVerdictLogSamples(t *testing.T) {
	var buf bytes.Buffer
	next := &countObserver{}
	v := newVerdictLog(next, slog.New(slog.NewTextHandler(&buf, nil)), 3)
	for i := 0; i < 7; i++ {
		v.Verdict(attest.Outcome{Reasons: []string{"rooted", "emulator"}})
		v.Verdict(attest.Outcome{Passed: true})
	}
	v.Challenge()
	if next.fail != 7 || next.pass != 7 || next.challenges != 1 {
		t.Errorf("observer not passed through: %+v", next)
	}
	if n := strings.Count(buf.String(), "verdict failed"); n != 3 { // failures 1, 4, 7
		t.Errorf("%d failed verdicts logged, want 3 of 7:\n%s", n, buf.String())
	}
	if !strings.Contains(buf.String(), "reasons=rooted,emulator") {
		t.Errorf("reasons missing:\n%s", buf.String())
	}
	buf.Reset()
	v.every.Store(0)
	v.Verdict(attest.Outcome{Reasons: []string{"x"}})
	if buf.Len() != 0 {
		t.Error("logged with sampling off")
	}
}

func TestRestartNeeded(t *testing.T) {
	f := DefaultFlags()
	a, _ := f.Validate()
	b := a
	b.LogLevel, b.DrainDelay, b.TLSCert = "debug", time.Second, "new.crt"
	if got := restartNeeded(a, b); len(got) != 0 {
		t.Errorf("reloadable settings reported: %v", got)
	}
	b.Issuer, b.Pyroscope.Password = "other", secret.FromString("x")
	if got := strings.Join(restartNeeded(a, b), ","); got != "issuer,pyroscope-password" {
		t.Errorf("restartNeeded = %q", got)
	}
}
