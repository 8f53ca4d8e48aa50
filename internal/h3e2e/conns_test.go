package h3e2e

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/quic-go/quic-go"
	"github.com/quic-go/quic-go/http3"

	"github.com/attestd/attestd/daemon"
	"github.com/attestd/attestd/internal/testenv"
	"github.com/attestd/attestd/internal/testenv/h3test"
)

// TestHTTP3ConnectionsPastThePerIPBoundAreRefused: one client address
// (127.0.0.1) gets as many HTTP/3 connections as the bound and no more:
// one more is refused, and counted; closing one makes room; and of many
// opened at once, as many as the bound are served.
func TestHTTP3ConnectionsPastThePerIPBoundAreRefused(t *testing.T) {
	const bound = 3
	f := testenv.NewFixture(t)
	c := h3test.NewCert(t, t.TempDir(), "node")
	n := stallNode(t, f, c, func(cfg *daemon.Config) { connsPerIP(cfg, bound) })
	addr := n.D.HTTP3Addr().String()
	var held []*h3test.RawConn
	for i := range bound {
		rc, err := h3test.DialRaw(t, c.Pool, addr)
		if err != nil {
			t.Fatalf("connection %d of %d: %v", i+1, bound, err)
		}
		if err := served(rc, addr); err != nil {
			t.Fatalf("connection %d of %d: %v", i+1, bound, err)
		}
		held = append(held, rc)
	}
	rc, err := h3test.DialRaw(t, c.Pool, addr)
	if why := refusal(rc, err); why == "" {
		t.Fatalf("connection %d from one address was served (bound %d)", bound+1, bound)
	} else {
		t.Logf("connection %d refused: %s", bound+1, why)
	}
	if got := metric(t, n.Admin, `attestd_http3_connections_refused_total{limit="per_ip"}`); got < 1 {
		t.Errorf("refusals counted: %v", got)
	}

	_ = held[0].QC.CloseWithError(0, "")
	waitMetric(t, n.Admin, "attestd_http3_connections", bound-1, 5*time.Second)
	rc, err = h3test.DialRaw(t, c.Pool, addr)
	if err == nil {
		err = served(rc, addr)
	}
	if err != nil {
		t.Fatalf("a connection after one closed: %v", err)
	}
	closeAll(append(held[1:], rc))
	waitMetric(t, n.Admin, "attestd_http3_connections", 0, 5*time.Second)

	// Many at once: their handshakes race the check before the handshake;
	// the one at accept keeps the bound.
	var ok atomic.Int32
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []*h3test.RawConn
	for range 3 * bound {
		wg.Go(func() {
			rc, err := h3test.DialRaw(t, c.Pool, addr)
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, rc)
			mu.Unlock()
			if served(rc, addr) == nil {
				ok.Add(1)
			}
		})
	}
	wg.Wait()
	if ok.Load() != bound {
		t.Errorf("%d connections opened at once from one address were served, want %d", ok.Load(), bound)
	}
	closeAll(conns)
}

// served makes a request on rc and checks it is answered.
func served(rc *h3test.RawConn, addr string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "https://"+addr+"/v1/accounts/none/jwks.json", nil)
	resp, err := rc.CC.RoundTrip(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		return errors.New(resp.Status)
	}
	return nil
}

// refusal says how a connection was refused, "" if it was not: the
// handshake refused (CONNECTION_REFUSED), or the connection closed by the
// node with H3_EXCESSIVE_LOAD once open (a wait of at most 10 s).
func refusal(rc *h3test.RawConn, err error) string {
	if err != nil {
		var te *quic.TransportError
		if errors.As(err, &te) && te.Remote && te.ErrorCode == quic.ConnectionRefused {
			return "handshake refused: " + err.Error()
		}
		return ""
	}
	select {
	case <-rc.QC.Context().Done():
		var ae *quic.ApplicationError
		if cause := context.Cause(rc.QC.Context()); errors.As(cause, &ae) && ae.Remote && ae.ErrorCode == quic.ApplicationErrorCode(http3.ErrCodeExcessiveLoad) {
			return "closed after the handshake: " + cause.Error()
		}
	case <-time.After(10 * time.Second):
	}
	return ""
}
