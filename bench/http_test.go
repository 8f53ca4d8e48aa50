package bench

import (
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttputil"

	"github.com/attestd/attestd/internal/api"
	"github.com/attestd/attestd/internal/fastapi"
	"github.com/attestd/attestd/internal/testenv"
)

// The HTTP benchmarks run the real fastapi server (its fasthttp settings,
// routing, error mapping and answer writing) over fasthttp's in-memory
// listener, driven by a fasthttp client from b.RunParallel goroutines;
// BenchmarkFasthttpHello is the same client against a bare fasthttp server
// whose handler writes a constant body. ns/op is wall time per request over
// all goroutines, the inverse of throughput.

// httpConnsPerProc is b.SetParallelism: goroutines (and so connections) per GOMAXPROCS.
const httpConnsPerProc = 4

// serveInmemory serves h on an in-memory listener until the benchmark ends
// and returns a client dialling it.
func serveInmemory(b *testing.B, serve func(net.Listener) error, stop func() error) *fasthttp.HostClient {
	b.Helper()
	ln := fasthttputil.NewInmemoryListener()
	done := make(chan error, 1)
	go func() { done <- serve(ln) }()
	b.Cleanup(func() {
		_ = stop()
		ln.Close()
		<-done
	})
	return &fasthttp.HostClient{
		Addr:            "attestd.bench",
		Dial:            func(string) (net.Conn, error) { return ln.Dial() },
		MaxConns:        64,
		ReadTimeout:     10 * time.Second,
		WriteTimeout:    10 * time.Second,
		MaxConnDuration: 0,
	}
}

func newFastapi(b *testing.B, e *env) *fasthttp.HostClient {
	b.Helper()
	// As the daemon wires it: the metrics observe every request.
	h := api.New(api.Config{Edge: e.edge, Accounts: e.reg, Observer: e.metrics})
	s := fastapi.New(fastapi.Config{Handler: h})
	return serveInmemory(b, s.Serve, func() error { return s.Shutdown(b.Context()) })
}

// post sends one POST and checks the status.
func post(hc *fasthttp.HostClient, req *fasthttp.Request, resp *fasthttp.Response, want int) error {
	if err := hc.Do(req, resp); err != nil {
		return err
	}
	if resp.StatusCode() != want {
		return &statusError{got: resp.StatusCode(), body: string(resp.Body())}
	}
	return nil
}

type statusError struct {
	got  int
	body string
}

func (e *statusError) Error() string { return "status " + itoa(e.got) + ": " + e.body }

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b [20]byte
	i := len(b)
	for ; n > 0; n /= 10 {
		i--
		b[i] = byte('0' + n%10)
	}
	return string(b[i:])
}

func newPost(path string, body []byte) *fasthttp.Request {
	req := fasthttp.AcquireRequest()
	req.Header.SetMethod("POST")
	req.SetRequestURI("http://attestd.bench" + path)
	req.Header.SetContentType("application/json")
	req.SetBody(body)
	return req
}

// BenchmarkHTTPChallenge is POST /v1/challenge through the fastapi server.
func BenchmarkHTTPChallenge(b *testing.B) {
	hc := newFastapi(b, newEnv(b))
	runParallelPost(b, hc, "/v1/challenge", []byte("{}"))
}

// BenchmarkFasthttpHello is BenchmarkHTTPChallenge's baseline: the same
// request to a bare fasthttp server that answers a constant JSON body of
// the size of a challenge answer.
func BenchmarkFasthttpHello(b *testing.B) {
	runParallelPost(b, newHello(b), "/v1/challenge", []byte("{}"))
}

// newHello serves a bare fasthttp handler that answers a constant body.
func newHello(b *testing.B) *fasthttp.HostClient { return newHelloServer(b, false) }

// newHelloServer serves a constant body; withLimits gives the server the
// fastapi server's limits (body size, multipart, content type) and its
// timeouts as fasthttp's own ReadTimeout, WriteTimeout and IdleTimeout,
// which move the connection's deadlines on every request (the fastapi
// server keeps the same timeouts without that: internal/fastapi/deadline.go).
func newHelloServer(b *testing.B, withLimits bool) *fasthttp.HostClient {
	body := []byte(`{"nonce":"k1.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA","expires_at":1700000000}`)
	s := &fasthttp.Server{Handler: func(ctx *fasthttp.RequestCtx) {
		ctx.SetContentType("application/json")
		ctx.SetBody(body)
	}}
	if withLimits {
		s.ReadTimeout, s.WriteTimeout, s.IdleTimeout = 10*time.Second, 10*time.Second, 60*time.Second
		s.MaxRequestBodySize, s.DisablePreParseMultipartForm, s.NoDefaultContentType = 64<<10, true, true
	}
	return serveInmemory(b, s.Serve, s.Shutdown)
}

func runParallelPost(b *testing.B, hc *fasthttp.HostClient, path string, body []byte) {
	b.SetParallelism(httpConnsPerProc)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		req := newPost(path, body)
		defer fasthttp.ReleaseRequest(req)
		resp := fasthttp.AcquireResponse()
		defer fasthttp.ReleaseResponse(resp)
		for pb.Next() {
			if err := post(hc, req, resp, 200); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkHTTPAttest is POST /v1/attest (HS256 app, passing evidence)
// through the fastapi server; b.N requests are signed before the timer.
func BenchmarkHTTPAttest(b *testing.B) {
	e := newEnv(b)
	hc := newFastapi(b, e)
	reqs := e.requests(b, testenv.App, b.N)
	var next atomic.Int64
	b.SetParallelism(httpConnsPerProc)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		req := newPost("/v1/attest", nil)
		defer fasthttp.ReleaseRequest(req)
		resp := fasthttp.AcquireResponse()
		defer fasthttp.ReleaseResponse(resp)
		for pb.Next() {
			r := reqs[next.Add(1)-1]
			req.SetBody(r.body)
			req.Header.SetBytesV("Attest-Signature", r.sig)
			if err := post(hc, req, resp, 200); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
