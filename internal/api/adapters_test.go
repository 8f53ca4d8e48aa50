package api_test

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"testing"
	"time"

	"github.com/valyala/fasthttp/fasthttputil"

	"github.com/attestd/attestd/internal/api"
	"github.com/attestd/attestd/internal/fastapi"
	"github.com/attestd/attestd/internal/h3api"
)

// The router is driven through both real adapters: the HTTP/1.1 server
// (fastapi, fasthttp parsing a request line written byte for byte, so
// that nothing normalises the target on the way) over an in-memory
// listener, and the HTTP/3 adapter's net/http handler (h3api) given a
// request built as quic-go's server builds one from its :method and :path.

// answer is a status and a body.
type answer struct {
	status int
	body   []byte
	header http.Header
	// reset: the transport refused the request before any handler (quic-go
	// resets the stream of a :path it cannot parse).
	reset bool
}

// http1 is a fastapi server over an in-memory listener.
type http1 struct {
	ln *fasthttputil.InmemoryListener
}

func startHTTP1(tb testing.TB, h *api.Handler) *http1 {
	tb.Helper()
	s := fastapi.New(fastapi.Config{Handler: h})
	ln := fasthttputil.NewInmemoryListener()
	done := make(chan error, 1)
	go func() { done <- s.Serve(ln) }()
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = s.Shutdown(ctx)
		ln.Close()
		<-done
	})
	return &http1{ln: ln}
}

// do writes one request as given (method, target and header lines
// verbatim) on a new connection and reads the answer.
func (s *http1) do(tb testing.TB, method, target string, headers []string, body []byte) answer {
	tb.Helper()
	c, err := s.ln.Dial()
	if err != nil {
		tb.Fatal(err)
	}
	defer c.Close()
	return rawExchange(tb, c, method, target, headers, body)
}

func rawExchange(tb testing.TB, c net.Conn, method, target string, headers []string, body []byte) answer {
	tb.Helper()
	var b bytes.Buffer
	b.WriteString(method + " " + target + " HTTP/1.1\r\nHost: attestd.test\r\n")
	for _, h := range headers {
		b.WriteString(h + "\r\n")
	}
	b.WriteString("Content-Length: " + strconv.Itoa(len(body)) + "\r\nConnection: close\r\n\r\n")
	b.Write(body)
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.Write(b.Bytes()); err != nil {
		tb.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), &http.Request{Method: method})
	if err != nil {
		tb.Fatalf("%s %q: reading the answer: %v", method, target, err)
	}
	defer resp.Body.Close()
	rb, err := io.ReadAll(resp.Body)
	if err != nil {
		tb.Fatalf("%s %q: reading the body: %v", method, target, err)
	}
	return answer{status: resp.StatusCode, body: rb, header: resp.Header}
}

// h3Request builds the request quic-go's server hands its handler for a
// :method and :path, or reports (ok false) that quic-go refuses them
// itself (the stream is reset; no handler runs): a :path that does not
// begin with '/' (but "*" for OPTIONS) or that net/url cannot parse, and
// a CONNECT with a :path.
func h3Request(method, target string, headers map[string]string, body []byte) (*http.Request, bool) {
	if method == "" || method == http.MethodConnect || (len(target) == 0 || target[0] != '/') && !(method == http.MethodOptions && target == "*") {
		return nil, false
	}
	u, err := url.ParseRequestURI(target)
	if err != nil {
		return nil, false
	}
	r := &http.Request{Method: method, URL: u, RequestURI: target, Proto: "HTTP/3.0", ProtoMajor: 3,
		Header: http.Header{}, Host: "attestd.test", RemoteAddr: "127.0.0.1:4433",
		Body: io.NopCloser(bytes.NewReader(body)), ContentLength: int64(len(body))}
	for k, v := range headers {
		r.Header[http.CanonicalHeaderKey(k)] = []string{v}
	}
	return r.WithContext(context.Background()), true
}

// h3do serves one request through the HTTP/3 adapter.
func h3do(h http.Handler, method, target string, headers map[string]string, body []byte) answer {
	r, ok := h3Request(method, target, headers, body)
	if !ok {
		return answer{reset: true}
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return answer{status: w.Code, body: w.Body.Bytes(), header: w.Header()}
}

func newH3(h *api.Handler) http.Handler { return h3api.New(h3api.Config{Handler: h}) }
