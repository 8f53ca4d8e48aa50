package e2e

import (
	"testing"

	"github.com/attestd/attestd/internal/testenv"
	"github.com/attestd/attestd/internal/testenv/h3test"
)

// http3 runs the table over HTTP/3 with quic-go's client, against the
// node's --http3-listen, with a certificate made for the test.
func http3(t *testing.T) (Transport, testenv.Options) {
	c := h3test.NewCert(t, t.TempDir(), "node")
	return Transport{Name: "http3", HTTP: h3test.H3Client(t, c.Pool), Base: h3test.H3Base}, h3test.TLSOptions(c, testenv.Options{})
}

func TestProtocolErrorsHTTP3(t *testing.T) {
	f := testenv.NewFixture(t)
	tr, o := http3(t)
	node := testenv.StartNode(t, testenv.NewStore(t, f), o)
	runProtocolErrors(t, tr, f, node)
}

func TestVerdictsHTTP3(t *testing.T) {
	f := testenv.NewFixture(t)
	tr, o := http3(t)
	node := testenv.StartNode(t, testenv.NewStore(t, f), o)
	runVerdicts(t, tr, f, node)
}
