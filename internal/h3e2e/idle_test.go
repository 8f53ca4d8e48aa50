package h3e2e

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/quic-go/quic-go"
	"github.com/quic-go/quic-go/http3"

	"github.com/attestd/attestd/daemon"
	"github.com/attestd/attestd/internal/testenv"
	"github.com/attestd/attestd/internal/testenv/h3test"
)

// idleTimeout is the idle timeout of the node in the idle tests.
const idleTimeout = 2 * time.Second

// TestHTTP3PingOnlyConnectionIsClosedAfterIdleTimeout: a connection that
// opens no request stream and only sends QUIC PINGs (every second, well
// within the idle timeout) is closed by the node after idle_timeout, with
// H3_NO_ERROR: the bound is on HTTP/3 activity, and PINGs, which keep a
// QUIC connection alive by design (they reset QUIC's own idle timer), are
// not a request. A connection that then made a request is closed again
// once it has been without one for idle_timeout.
func TestHTTP3PingOnlyConnectionIsClosedAfterIdleTimeout(t *testing.T) {
	f := testenv.NewFixture(t)
	c := h3test.NewCert(t, t.TempDir(), "node")
	n := stallNode(t, f, c, func(cfg *daemon.Config) { cfg.IdleTimeout = idleTimeout })
	addr := n.D.HTTP3Addr().String()

	start := time.Now()
	rc, err := h3test.DialRaw(t, c.Pool, addr) // PINGs every second
	if err != nil {
		t.Fatal(err)
	}
	idleClose(t, rc, start)

	// A request, then nothing: closed once idle for the timeout after it.
	rc, err = h3test.DialRaw(t, c.Pool, addr)
	if err != nil {
		t.Fatal(err)
	}
	if st := status(t, rc, addr); st != http.StatusNotFound {
		t.Fatalf("a request: %d, want 404", st)
	}
	idleClose(t, rc, time.Now())
}

// idleClose waits for the node to close rc for idleness; since is when rc
// last had a request open (or was dialled).
func idleClose(t *testing.T, rc *h3test.RawConn, since time.Time) {
	t.Helper()
	select {
	case <-rc.QC.Context().Done():
	case <-time.After(idleTimeout + stallMargin):
		t.Fatalf("a connection with only PINGs is open %v after its last request (idle timeout %v)", time.Since(since).Round(time.Second), idleTimeout)
	}
	// Never before the timeout: the close is the idle timer's, not some
	// other bound's (the node's timer starts after since).
	if d := time.Since(since); d < idleTimeout {
		t.Errorf("closed %v after its last request, before the idle timeout %v", d, idleTimeout)
	}
	cause := context.Cause(rc.QC.Context())
	var ae *quic.ApplicationError
	if !errors.As(cause, &ae) || !ae.Remote || ae.ErrorCode != quic.ApplicationErrorCode(http3.ErrCodeNoError) {
		t.Errorf("closed with %v, want the node's H3_NO_ERROR (QUIC's own idle timeout is held off by the PINGs)", cause)
	}
}
