package h3api

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"math/big"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/quic-go/quic-go"
	"github.com/quic-go/quic-go/http3"
)

// testTLS is a self-signed certificate for 127.0.0.1 and a pool trusting it.
func testTLS(t testing.TB) (*tls.Config, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "h3api"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}}}, pool
}

// serve runs a Server for cfg on a loopback UDP port; it returns the
// server, its address and a pool trusting its certificate.
func serve(t testing.TB, cfg ServerConfig) (*Server, string, *x509.CertPool) {
	t.Helper()
	tc, pool := testTLS(t)
	s := NewServer(cfg)
	ln, err := quic.ListenAddr("127.0.0.1:0", http3.ConfigureTLSConfig(tc), s.QUICConfig(nil))
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Serve(ln) }()
	t.Cleanup(func() {
		ln.Close()
		s.Close()
		if err := <-done; !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("Serve: %v", err)
		}
	})
	return s, ln.Addr().String(), pool
}

// dial opens an HTTP/3 connection to addr with quic-go's client.
func dial(t testing.TB, addr string, pool *x509.CertPool, qc *quic.Config) (*quic.Conn, *http3.ClientConn) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := quic.DialAddr(ctx, addr, &tls.Config{RootCAs: pool, NextProtos: []string{http3.NextProtoH3}}, qc)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.CloseWithError(0, "") })
	return c, (&http3.Transport{}).NewClientConn(c)
}

func get(ctx context.Context, cc *http3.ClientConn, addr, path string) (*http.Response, error) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "https://"+addr+path, nil)
	return cc.RoundTrip(req)
}

// TestHTTP3UnreadAnswerIsCut: a client that asks for a long answer and
// reads none of it (its flow-control window stays full) holds the handler
// only until the write deadline: its Write fails, and it returns.
func TestHTTP3UnreadAnswerIsCut(t *testing.T) {
	const read, write = time.Second, time.Second
	returned := make(chan error, 1)
	_, addr, pool := serve(t, ServerConfig{ReadTimeout: read, WriteTimeout: write,
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			buf := make([]byte, 32<<10)
			for {
				if _, err := w.Write(buf); err != nil {
					returned <- err
					return
				}
			}
		})})
	_, cc := dial(t, addr, pool, &quic.Config{InitialStreamReceiveWindow: 64 << 10, MaxStreamReceiveWindow: 64 << 10})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	resp, err := get(ctx, cc, addr, "/big")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	start := time.Now()
	select {
	case err := <-returned:
		t.Logf("the handler's write failed %v after the answer began: %v", time.Since(start).Round(100*time.Millisecond), err)
	case <-ctx.Done():
		t.Fatalf("the handler still writes to a client that reads nothing, %v after the answer began (deadline %v from the request)", time.Since(start).Round(time.Second), read+write)
	}
}

// TestShutdownAnswersBegunRequestsAndRejectsNewOnes: during a drain a
// request already begun is answered; a new one on the same connection is
// rejected with H3_REQUEST_REJECTED (safe to retry: not processed); the
// connection closes with H3_NO_ERROR after the last answer, and Shutdown
// returns.
func TestShutdownAnswersBegunRequestsAndRejectsNewOnes(t *testing.T) {
	entered, release := make(chan struct{}), make(chan struct{})
	s, addr, pool := serve(t, ServerConfig{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			close(entered)
			<-release
		}
		_, _ = io.WriteString(w, "ok")
	})})
	qc, cc := dial(t, addr, pool, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	slow := make(chan int, 1)
	go func() {
		resp, err := get(ctx, cc, addr, "/slow")
		if err != nil {
			t.Errorf("the request begun before the drain: %v", err)
			slow <- 0
			return
		}
		resp.Body.Close()
		slow <- resp.StatusCode
	}()
	<-entered
	shut := make(chan error, 1)
	go func() { shut <- s.Shutdown(ctx) }()
	for !s.isDraining() {
		select {
		case <-ctx.Done():
			t.Fatal("Shutdown never began")
		case <-time.After(time.Millisecond):
		}
	}
	_, err := get(ctx, cc, addr, "/fast")
	var he *http3.Error
	if !errors.As(err, &he) || he.ErrorCode != http3.ErrCodeRequestRejected {
		t.Errorf("a request sent during the drain: %v, want H3_REQUEST_REJECTED", err)
	}
	close(release)
	if st := <-slow; st != http.StatusOK {
		t.Errorf("the request begun before the drain: %d", st)
	}
	if err := <-shut; err != nil {
		t.Errorf("Shutdown: %v", err)
	}
	<-qc.Context().Done()
	var ae *quic.ApplicationError
	if cause := context.Cause(qc.Context()); !errors.As(cause, &ae) || ae.ErrorCode != quic.ApplicationErrorCode(http3.ErrCodeNoError) {
		t.Errorf("the connection closed with %v, want H3_NO_ERROR", cause)
	}
}

func (s *Server) isDraining() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.draining
}
