package client_test

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/attestd/attestd/client"
	"github.com/attestd/attestd/internal/state"
	"github.com/attestd/attestd/internal/testenv"
)

// streamServer serves api.test over TLS (HTTP/2 when h2): /stream sends a
// first line, then holds the answer open until release is closed (or 20 s
// pass); /v answers at once. It records the client address (so the
// connection) and protocol of each request.
type streamServer struct {
	srv     *httptest.Server
	release chan struct{}
	mu      sync.Mutex
	seen    []string // "path remote proto"
}

func newStreamServer(t *testing.T, p *pki, h2 bool) *streamServer {
	s := &streamServer{release: make(chan struct{})}
	s.srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.seen = append(s.seen, r.URL.Path+" "+r.RemoteAddr+" "+r.Proto)
		s.mu.Unlock()
		if r.URL.Path != "/stream" {
			_, _ = io.WriteString(w, "ok")
			return
		}
		_, _ = io.WriteString(w, "first\n")
		w.(http.Flusher).Flush()
		select {
		case <-s.release:
		case <-r.Context().Done():
		case <-time.After(20 * time.Second):
		}
		_, _ = io.WriteString(w, "end\n")
	}))
	s.srv.EnableHTTP2 = h2
	s.srv.TLS = &tls.Config{Certificates: []tls.Certificate{p.leaf}}
	s.srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	s.srv.StartTLS()
	t.Cleanup(func() {
		select {
		case <-s.release:
		default:
			close(s.release)
		}
		s.srv.Close()
	})
	return s
}

func (s *streamServer) requests() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.seen)
}

// pinRig: a node whose account pins api.test to the test CA and leaf (which
// the stream server presents), and a Transport whose base transport reaches
// the stream server for api.test and the rig's plain TLS server for
// other.test.
type pinRig struct {
	*rig
	stream *streamServer
	tr     *client.Transport
	hc     *http.Client
	rev    int64 // the store revision of the last pin change
}

func newPinRig(t *testing.T, h2 bool) *pinRig {
	r := newRig(t, nil)
	pr := &pinRig{rig: r, stream: newStreamServer(t, r.pki, h2)}
	pr.rev = r.store.Update(t, func(seal state.Sealer) state.Mutation {
		return state.AddPins(seal, testenv.Account, "api.test", []string{r.pki.caPin, r.pki.leafPin}, false)
	})
	base := &http.Transport{
		DialContext: hostDialer(map[string]string{"api.test:443": pr.stream.srv.Listener.Addr().String(),
			"other.test:443": r.srv.srv.Listener.Addr().String()}),
		TLSClientConfig: &tls.Config{RootCAs: r.pki.pool}, ForceAttemptHTTP2: h2, TLSHandshakeTimeout: 5 * time.Second,
	}
	var err error
	pr.tr, err = client.NewTransport(client.TransportConfig{Client: r.node.Client(t, r.f, testenv.App, nil), Base: base})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pr.tr.CloseIdleConnections)
	pr.hc = &http.Client{Transport: pr.tr, Timeout: 30 * time.Second}
	pr.waitPins(t, func(p []string) bool { return len(p) == 2 })
	return pr
}

// waitPins waits for the node to serve the last pin change, makes the
// Transport attest again (through a request to other.test, which is not
// pinned), and checks that the pins of api.test it got satisfy ok.
func (pr *pinRig) waitPins(t *testing.T, ok func([]string) bool) {
	t.Helper()
	pr.node.AwaitRevision(t, pr.rev, 5*time.Second)
	pr.tr.Invalidate()
	if _, err := get(t, pr.hc, "https://other.test/v", nil); err != nil {
		t.Fatal(err)
	}
	if p := pr.tr.Pins()["api.test"]; !ok(p) {
		t.Fatalf("pins of api.test not delivered: %v", p)
	}
}

// startStream begins /stream and reads its first line: from then on, the
// answer is in flight on its connection. It returns the answer and the
// connection's client address.
func (pr *pinRig) startStream(t *testing.T) (*http.Response, string) {
	t.Helper()
	resp, err := pr.hc.Get("https://api.test/stream")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	line, err := bufio.NewReader(resp.Body).ReadString('\n')
	if err != nil || line != "first\n" {
		t.Fatalf("stream: %q %v", line, err)
	}
	var remote string
	for _, s := range pr.stream.requests() {
		if f := strings.Fields(s); len(f) == 3 && f[0] == "/stream" {
			remote = f[1]
		}
	}
	return resp, remote
}

// changePins makes api.test pinned to pins only.
func (pr *pinRig) changePins(t *testing.T, pins []string) {
	t.Helper()
	pr.rev = pr.store.Update(t, func(seal state.Sealer) state.Mutation {
		return state.AddPins(seal, testenv.Account, "api.test", pins, true)
	})
	for _, old := range []string{pr.pki.caPin, pr.pki.leafPin} {
		if !slices.Contains(pins, old) {
			pr.rev = pr.store.Update(t, func(seal state.Sealer) state.Mutation {
				return state.RemovePin(seal, testenv.Account, "api.test", old, true)
			})
		}
	}
	pr.waitPins(t, func(p []string) bool {
		return len(p) == len(pins) && !slices.ContainsFunc(p, func(x string) bool { return !slices.Contains(pins, x) })
	})
}

// readRest reads what is left of resp's body, waiting at most 10 s.
func readRest(t *testing.T, resp *http.Response) (string, error) {
	t.Helper()
	type result struct {
		b   []byte
		err error
	}
	done := make(chan result, 1)
	go func() {
		b, err := io.ReadAll(resp.Body)
		done <- result{b, err}
	}()
	select {
	case r := <-done:
		return string(r.b), r.err
	case <-time.After(10 * time.Second):
		t.Fatal("the answer in flight was neither cut off nor finished within 10 s")
		return "", nil
	}
}

// TestTransportPinChangeClosesBusyConnection: a connection busy with a
// long answer (HTTP/2, and HTTP/1.1) when the pins change so that its
// certificate no longer matches is closed at once: the answer in flight is
// cut off, and no request after the change travels on it (over HTTP/2 it
// would otherwise carry every new request to api.test); the next one dials,
// and the new pins refuse the server.
func TestTransportPinChangeClosesBusyConnection(t *testing.T) {
	for _, h2 := range []bool{true, false} {
		name := map[bool]string{true: "http2", false: "http1"}[h2]
		t.Run(name, func(t *testing.T) {
			pr := newPinRig(t, h2)
			resp, remote := pr.startStream(t)
			if h2 {
				// The busy connection is shared: /v goes over it.
				if _, err := get(t, pr.hc, "https://api.test/v", nil); err != nil {
					t.Fatal(err)
				}
				seen := pr.stream.requests()
				if last := seen[len(seen)-1]; last != "/v "+remote+" HTTP/2.0" {
					t.Fatalf("HTTP/2 not multiplexed over the busy connection: %q (stream on %s)", seen, remote)
				}
			}
			before := len(pr.stream.requests())
			pr.changePins(t, []string{pr.pki.otherPin, r0pin(t)}) // neither the CA nor the leaf

			for range 3 {
				if _, err := get(t, pr.hc, "https://api.test/v", nil); !errors.Is(err, client.ErrPinMismatch) {
					t.Errorf("a request after the change: %v, want ErrPinMismatch", err)
				}
			}
			if after := pr.stream.requests(); len(after) != before {
				t.Errorf("requests reached api.test after its pins refused it: %q", after[before:])
			}
			if rest, err := readRest(t, resp); err == nil {
				t.Errorf("the answer in flight on a connection the new pins refuse went on: %q", rest)
			}
		})
	}
}

// TestTransportPinChangeKeepsMatchingConnection: when the pins change but
// still match a busy connection's certificate, the re-check keeps it: its
// answer completes and new requests go on.
func TestTransportPinChangeKeepsMatchingConnection(t *testing.T) {
	pr := newPinRig(t, true)
	resp, _ := pr.startStream(t)
	pr.changePins(t, []string{pr.pki.leafPin, pr.pki.otherPin})
	if _, err := get(t, pr.hc, "https://api.test/v", nil); err != nil {
		t.Fatalf("a request after a change that still matches: %v", err)
	}
	close(pr.stream.release)
	if rest, err := readRest(t, resp); err != nil || rest != "end\n" {
		t.Fatalf("the answer in flight: %q %v", rest, err)
	}
}

// connectProxy is an HTTP proxy for CONNECT only, that dials through dial.
func connectProxy(t *testing.T, dial func(ctx context.Context, network, addr string) (net.Conn, error)) *url.URL {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodConnect {
			http.Error(w, "CONNECT only", http.StatusMethodNotAllowed)
			return
		}
		up, err := dial(r.Context(), "tcp", r.Host)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		w.WriteHeader(http.StatusOK)
		conn, buf, err := http.NewResponseController(w).Hijack()
		if err != nil {
			up.Close()
			return
		}
		go func() { _, _ = io.Copy(up, buf); up.Close() }()
		_, _ = io.Copy(conn, up)
		conn.Close()
	}))
	t.Cleanup(srv.Close)
	u, _ := url.Parse(srv.URL)
	return u
}

// TestTransportPinChangeClosesProxyTunnel: through an HTTP proxy, the TLS
// connection to api.test is made by net/http inside a tunnel the Transport
// cannot re-check: a change of pins closes the tunnel, busy or not, and
// the next request is checked against the new pins.
func TestTransportPinChangeClosesProxyTunnel(t *testing.T) {
	pr := newPinRig(t, true)
	names := map[string]string{"api.test:443": pr.stream.srv.Listener.Addr().String(),
		"other.test:443": pr.srv.srv.Listener.Addr().String()}
	proxyURL := connectProxy(t, hostDialer(names))
	base := &http.Transport{Proxy: http.ProxyURL(proxyURL), TLSClientConfig: &tls.Config{RootCAs: pr.pki.pool},
		ForceAttemptHTTP2: true, TLSHandshakeTimeout: 5 * time.Second}
	tr, err := client.NewTransport(client.TransportConfig{Client: pr.node.Client(t, pr.f, testenv.App, nil), Base: base})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(tr.CloseIdleConnections)
	pr.tr, pr.hc = tr, &http.Client{Transport: tr, Timeout: 30 * time.Second}
	pr.waitPins(t, func(p []string) bool { return len(p) == 2 })
	resp, _ := pr.startStream(t)
	before := len(pr.stream.requests())
	pr.changePins(t, []string{pr.pki.otherPin, r0pin(t)})
	if rest, err := readRest(t, resp); err == nil {
		t.Errorf("the answer in flight through the tunnel went on: %q", rest)
	}
	if _, err := get(t, pr.hc, "https://api.test/v", nil); !errors.Is(err, client.ErrPinMismatch) {
		t.Errorf("a request after the change: %v, want ErrPinMismatch", err)
	}
	if after := pr.stream.requests(); len(after) != before {
		t.Fatalf("requests reached api.test after its pins refused it: %q", after[before:])
	}
}
