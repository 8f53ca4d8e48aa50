package daemon

import (
	"fmt"
	"strconv"
	"strings"
)

// quicUDPBuffer is the UDP socket buffer size quic-go asks for (7 MiB,
// rounded up as quic-go's documentation recommends).
const quicUDPBuffer = 7_500_000

// udpBufferWarnings reads net.core.rmem_max and wmem_max through read
// (os.ReadFile in production) and says what is too small for QUIC, with
// the fix. Unreadable values are reported too: the check is best effort.
func udpBufferWarnings(read func(string) ([]byte, error)) []string {
	var out []string
	for _, name := range []string{"rmem_max", "wmem_max"} {
		path := "/proc/sys/net/core/" + name
		b, err := read(path)
		if err != nil {
			out = append(out, fmt.Sprintf("cannot read %s (%v): QUIC may run with small UDP buffers", path, err))
			continue
		}
		v, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil {
			out = append(out, fmt.Sprintf("%s: unreadable value %q", path, strings.TrimSpace(string(b))))
			continue
		}
		if v < quicUDPBuffer {
			out = append(out, fmt.Sprintf("net.core.%s is %d bytes, below the %d that QUIC needs under load: "+
				"install the package's /usr/lib/sysctl.d/60-attestd.conf (sysctl --system) or run "+
				"sysctl -w net.core.%s=%d", name, v, quicUDPBuffer, name, quicUDPBuffer))
		}
	}
	return out
}
