package h3e2e

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/quic-go/quic-go"
	"github.com/quic-go/quic-go/http3"

	"github.com/attestd/attestd/internal/testenv"
	"github.com/attestd/attestd/internal/testenv/h3test"
)

// TestSessionResumptionAcrossNodes: a TLS session ticket issued by one
// node resumes on another node of the same deployment (the ticket keys
// come from the store), over TCP and over QUIC, as anycast failover
// needs; a node of another deployment does not resume it. 0-RTT is
// refused: a resumed QUIC connection never uses early data.
func TestSessionResumptionAcrossNodes(t *testing.T) {
	f := testenv.NewFixture(t)
	st := testenv.NewStore(t, f)
	c := h3test.NewCert(t, t.TempDir(), "node")
	a := testenv.StartNode(t, st, h3test.TLSOptions(c, testenv.Options{}))
	b := testenv.StartNode(t, st, h3test.TLSOptions(c, testenv.Options{}))
	other := testenv.StartNode(t, testenv.NewStore(t, f), h3test.TLSOptions(c, testenv.Options{}))

	t.Run("tcp", func(t *testing.T) {
		cache := tls.NewLRUClientSessionCache(8)
		get := func(n *testenv.Node) *tls.ConnectionState {
			tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: c.Pool, ServerName: "localhost", ClientSessionCache: cache}, DisableKeepAlives: true}
			defer tr.CloseIdleConnections()
			resp, err := (&http.Client{Transport: tr, Timeout: 5 * time.Second}).Get(h3test.TLSBase(n) + "/v1/accounts/none/jwks.json")
			if err != nil {
				t.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			return resp.TLS
		}
		if cs := get(a); cs.DidResume || cs.Version != tls.VersionTLS13 {
			t.Fatalf("first connection: resumed %v, version %x", cs.DidResume, cs.Version)
		}
		if !get(b).DidResume {
			t.Error("node b did not resume node a's session")
		}
		if get(other).DidResume {
			t.Error("a node of another deployment resumed the session")
		}
	})

	t.Run("quic", func(t *testing.T) {
		cache := &signalingCache{ClientSessionCache: tls.NewLRUClientSessionCache(8), stored: make(chan struct{}, 1)}
		// dial connects to n; with wantTicket it keeps the connection
		// open until a session ticket from n is in the cache (it follows
		// the handshake, in 1-RTT data).
		dial := func(n *testenv.Node, wantTicket bool) tls.ConnectionState {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			conf := &tls.Config{RootCAs: c.Pool, ServerName: "localhost", ClientSessionCache: cache, NextProtos: []string{http3.NextProtoH3}}
			conn, err := quic.DialAddrEarly(ctx, n.D.HTTP3Addr().String(), conf, &quic.Config{})
			if err != nil {
				t.Fatal(err)
			}
			defer conn.CloseWithError(0, "")
			select {
			case <-conn.HandshakeComplete():
			case <-ctx.Done():
				t.Fatal("handshake timeout")
			}
			if wantTicket {
				select {
				case <-cache.stored:
				case <-time.After(10 * time.Second):
					t.Fatal("no session ticket stored within 10s of the handshake")
				}
			}
			cs := conn.ConnectionState()
			if cs.Used0RTT {
				t.Errorf("0-RTT was accepted")
			}
			return cs.TLS
		}
		if dial(a, true).DidResume {
			t.Fatal("first connection resumed")
		}
		if !dial(b, false).DidResume {
			t.Error("node b did not resume node a's QUIC session")
		}
	})
}

// signalingCache is a client session cache that signals stored each time
// a session ticket is put in it.
type signalingCache struct {
	tls.ClientSessionCache
	stored chan struct{}
}

func (c *signalingCache) Put(key string, cs *tls.ClientSessionState) {
	c.ClientSessionCache.Put(key, cs)
	if cs != nil { // nil removes an entry
		select {
		case c.stored <- struct{}{}:
		default:
		}
	}
}

// TestTransportMetricsAndAltSvc: HTTP/1.1 answers advertise HTTP/3
// (Alt-Svc), every answer carries a request id, and /metrics counts each
// listener under its transport label.
func TestTransportMetricsAndAltSvc(t *testing.T) {
	f := testenv.NewFixture(t)
	c := h3test.NewCert(t, t.TempDir(), "node")
	n := testenv.StartNode(t, testenv.NewStore(t, f), h3test.TLSOptions(c, testenv.Options{}))
	resp, err := http.Post(n.Base+"/v1/challenge", "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.Header.Get("X-Request-Id") == "" {
		t.Error("no X-Request-Id on HTTP/1.1")
	}
	port := n.D.HTTP3Addr().(*net.UDPAddr).Port
	if got, want := resp.Header.Get("Alt-Svc"), fmt.Sprintf(`h3=":%d"; ma=86400`, port); got != want {
		t.Errorf("Alt-Svc %q, want %q", got, want)
	}
	h3 := h3test.H3Client(t, c.Pool)
	resp, err = h3.Post(h3test.H3Base(n)+"/v1/challenge", "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.Header.Get("X-Request-Id") == "" {
		t.Error("no X-Request-Id on HTTP/3")
	}
	resp, err = http.Get(n.Admin + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{
		`attestd_transport_requests_total{endpoint="challenge",status="200",transport="http1"} 1`,
		`attestd_transport_requests_total{endpoint="challenge",status="200",transport="http3"} 1`,
		`attestd_tls_certificate_expiry_timestamp_seconds `,
		`attestd_build_info{version=`,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}
