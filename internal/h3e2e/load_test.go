package h3e2e

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/quic-go/quic-go"
	"github.com/quic-go/quic-go/http3"

	"github.com/attestd/attestd/client"
	"github.com/attestd/attestd/internal/testenv"
)

// outcome counts what a steady client loop saw.
type outcome struct {
	ok       atomic.Int64
	okAfter  atomic.Int64 // successes that started after /readyz turned 503
	refused  atomic.Int64 // connection-level errors after /readyz turned 503
	mu       sync.Mutex
	failures []string
}

func (o *outcome) fail(s string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if len(o.failures) < 20 {
		o.failures = append(o.failures, s)
	}
}

// loop attests with c again and again until stop closes or max requests.
// notReady returns the time /readyz was first seen 503 (zero before). An
// HTTP error answer is always a failure; a connection error is a clean
// refusal only if the request started after /readyz turned 503.
func loop(ctx context.Context, name string, c *client.Client, o *outcome, notReady func() time.Time, max int) {
	for i := 0; i < max && ctx.Err() == nil; i++ {
		start := time.Now()
		rctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		_, err := c.Attest(rctx, client.Evidence{})
		cancel()
		nr := notReady()
		after := !nr.IsZero() && !start.Before(nr)
		var herr *client.Error
		switch {
		case err == nil:
			o.ok.Add(1)
			if after {
				o.okAfter.Add(1)
			}
		case errors.As(err, &herr):
			o.fail(name + ": HTTP answer: " + err.Error())
		case ctx.Err() != nil:
			return
		case after:
			o.refused.Add(1)
			time.Sleep(20 * time.Millisecond) // a refused client backs off, on purpose: a retrying client's pace, not a wait
		default:
			o.fail(name + " (before /readyz 503): " + err.Error())
		}
	}
}

// clients are one attesting client per transport, each with its own
// connection pool. base maps a transport name to its base URL.
func clients(t *testing.T, f *testenv.Fixture, pool *x509.CertPool, base map[string]string) map[string]*client.Client {
	t.Helper()
	out := map[string]*client.Client{}
	for name, url := range base {
		var hc *http.Client
		switch name {
		case "http3":
			tr := &http3.Transport{TLSClientConfig: &tls.Config{RootCAs: pool},
				QUICConfig: &quic.Config{HandshakeIdleTimeout: time.Second, MaxIdleTimeout: 5 * time.Second}}
			t.Cleanup(func() { tr.Close() })
			hc = &http.Client{Transport: tr}
		default:
			tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, MaxIdleConnsPerHost: 4}
			t.Cleanup(tr.CloseIdleConnections)
			hc = &http.Client{Transport: tr}
		}
		c, err := client.New(client.Config{BaseURL: url, App: f.ClientApp(testenv.App), HTTP: hc})
		if err != nil {
			t.Fatal(err)
		}
		out[name] = c
	}
	return out
}
