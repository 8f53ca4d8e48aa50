package h3test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/quic-go/quic-go"
	"github.com/quic-go/quic-go/http3"
)

// RawConn is one HTTP/3 connection made with quic-go's client, kept alive
// by QUIC PINGs, on which a test opens request streams and sends what it
// likes on them: the slow or silent clients of the stall tests.
type RawConn struct {
	QC *quic.Conn
	CC *http3.ClientConn
}

// DialRaw opens a connection to addr (HOST:PORT of an HTTP/3 listener)
// trusting pool; it sends a PING every second, so that it never idles out
// at the QUIC layer. conf, if given, sets the client's QUIC settings (the
// keep-alive is added). It is closed when t ends.
func DialRaw(t testing.TB, pool *x509.CertPool, addr string, conf ...*quic.Config) (*RawConn, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	qconf := &quic.Config{}
	if len(conf) > 0 {
		qconf = conf[0].Clone()
	}
	qconf.KeepAlivePeriod, qconf.MaxIdleTimeout, qconf.HandshakeIdleTimeout = time.Second, 5*time.Minute, 5*time.Second
	qc, err := quic.DialAddr(ctx, addr, &tls.Config{RootCAs: pool, NextProtos: []string{http3.NextProtoH3}}, qconf)
	if err != nil {
		return nil, err
	}
	t.Cleanup(func() { _ = qc.CloseWithError(0, "") })
	return &RawConn{QC: qc, CC: (&http3.Transport{}).NewClientConn(qc)}, nil
}

// Stall is a request whose body stopped arriving.
type Stall struct {
	// Ended is closed when the request ended: its answer's header
	// arrived, or the stream or the connection was reset.
	Ended  chan struct{}
	Status int // the answer's status, 0 if none came; read after Ended
	Err    error
	body   *io.PipeWriter
}

// Stall sends, on a new request stream, the header of a POST to url
// declaring a body of declared bytes, then sent bytes of it, and nothing
// more; it returns once those bytes were taken for sending. When the
// connection has as many streams open as the server allows, it waits for
// one to end.
func (c *RawConn) Stall(url string, hdr http.Header, declared, sent int) (*Stall, error) {
	pr, pw := io.Pipe()
	req, err := http.NewRequest(http.MethodPost, url, pr)
	if err != nil {
		return nil, err
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	req.ContentLength = int64(declared)
	s := &Stall{Ended: make(chan struct{}), body: pw}
	go func() {
		defer close(s.Ended)
		resp, err := c.CC.RoundTrip(req)
		if err != nil {
			s.Err = err
			return
		}
		s.Status = resp.StatusCode
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}()
	if _, err := pw.Write(make([]byte, sent)); err != nil {
		return nil, err
	}
	return s, nil
}

// Send sends n more bytes of the body, and ends it when end is set.
func (s *Stall) Send(n int, end bool) error {
	if _, err := s.body.Write(make([]byte, n)); err != nil {
		return err
	}
	if end {
		return s.body.Close()
	}
	return nil
}

// Stop ends the request's body (with an error): the client's goroutines
// that send it return.
func (s *Stall) Stop() { s.body.CloseWithError(io.ErrUnexpectedEOF) }
