package h3e2e

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/quic-go/quic-go"

	"github.com/attestd/attestd/internal/testenv"
	"github.com/attestd/attestd/internal/testenv/h3test"
)

// TestHTTP3StreamsPastTheBoundWait: a connection that holds as many
// stalled requests as the node allows cannot open one more stream (the
// node granted no more); a request made meanwhile waits for a stream, and
// is answered once the stalled ones are cut.
func TestHTTP3StreamsPastTheBoundWait(t *testing.T) {
	f := testenv.NewFixture(t)
	c := h3test.NewCert(t, t.TempDir(), "node")
	n := stallNode(t, f, c, nil)
	addr := n.D.HTTP3Addr().String()
	rc, err := h3test.DialRaw(t, c.Pool, addr)
	if err != nil {
		t.Fatal(err)
	}
	var stalls []*h3test.Stall
	for range stallStreams() {
		s, err := rc.Stall("https://"+addr+attestPath, http.Header{"Content-Type": {"application/json"}}, declaredBody, sentBody)
		if err != nil {
			t.Fatal(err)
		}
		stalls = append(stalls, s)
	}
	t.Cleanup(func() {
		for _, s := range stalls {
			s.Stop()
		}
	})
	str, err := rc.QC.OpenStream()
	if err == nil {
		str.CancelWrite(0)
		t.Fatalf("a stream past the %d the node allows was opened", len(stalls))
	}
	if !errors.As(err, new(*quic.StreamLimitReachedError)) {
		t.Fatalf("opening a stream past the bound: %v, want the stream limit", err)
	}

	start := time.Now()
	done := make(chan int, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), stallRead+stallMargin)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "https://"+addr+"/v1/accounts/none/jwks.json", nil)
		resp, err := rc.CC.RoundTrip(req)
		if err != nil {
			t.Errorf("the waiting request: %v", err)
			done <- 0
			return
		}
		resp.Body.Close()
		done <- resp.StatusCode
	}()
	status := <-done
	cut := 0
	for _, s := range stalls {
		select {
		case <-s.Ended:
			cut++
		default:
		}
	}
	t.Logf("the waiting request was answered %d after %v, when %d of %d stalled requests had been cut",
		status, time.Since(start).Round(100*time.Millisecond), cut, len(stalls))
	if status != http.StatusNotFound {
		t.Errorf("the waiting request: status %d, want 404", status)
	}
}

// TestHTTP3StalledHeadersAreCut: a request stream that opens with the
// start of a HEADERS frame and then sends nothing, and a unidirectional
// stream that never finishes naming its type, are ended within the read
// deadline; before, quic-go's HTTP/3 server read them without one.
func TestHTTP3StalledHeadersAreCut(t *testing.T) {
	f := testenv.NewFixture(t)
	c := h3test.NewCert(t, t.TempDir(), "node")
	n := stallNode(t, f, c, nil)
	rc, err := h3test.DialRaw(t, c.Pool, n.D.HTTP3Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), stallRead+stallMargin)
	defer cancel()
	bidi, err := rc.QC.OpenStreamSync(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// HEADERS (type 1) of 100 bytes (a 2-byte length), and 10 of them.
	if _, err := bidi.Write(append([]byte{0x01, 0x40, 100}, make([]byte, 10)...)); err != nil {
		t.Fatal(err)
	}
	uni, err := rc.QC.OpenUniStreamSync(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// The first byte of a 4-byte stream type.
	if _, err := uni.Write([]byte{0x80}); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	readErr := make(chan error, 1)
	go func() {
		_, err := bidi.Read(make([]byte, 1))
		readErr <- err
	}()
	select {
	case err := <-readErr:
		t.Logf("request stream with half a header ended after %v: %v", time.Since(start).Round(100*time.Millisecond), err)
		var se *quic.StreamError
		if !errors.As(err, &se) || !se.Remote {
			t.Errorf("request stream: %v, want a reset by the node", err)
		}
	case <-ctx.Done():
		bidi.CancelRead(0)
		t.Errorf("a request stream with half a header was still open %v after it began (read timeout %v)", time.Since(start).Round(time.Second), stallRead)
	}
	select {
	case <-uni.Context().Done():
		t.Logf("unidirectional stream without its type ended after %v: %v", time.Since(start).Round(100*time.Millisecond), context.Cause(uni.Context()))
	case <-ctx.Done():
		t.Errorf("a unidirectional stream without its type was still open %v after it began", time.Since(start).Round(time.Second))
	}
	// The connection itself is still served.
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "https://"+n.D.HTTP3Addr().String()+"/v1/accounts/none/jwks.json", nil)
	resp, err := rc.CC.RoundTrip(req)
	if err != nil {
		t.Fatalf("a request on the same connection afterwards: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("a request on the same connection afterwards: %d", resp.StatusCode)
	}
}
