package h3api

import (
	"context"
	"crypto/x509"
	"io"
	"net/http"
	"testing"

	"github.com/quic-go/quic-go"
	"github.com/quic-go/quic-go/http3"
)

// BenchmarkHTTP3Requests: small requests over one loopback connection,
// served by Server (streams accepted here, each with its deadlines) and,
// as the baseline, by quic-go's http3.Server with the same QUIC settings.
func BenchmarkHTTP3Requests(b *testing.B) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, `{"ok":true}`) })
	b.Run("h3api.Server", func(b *testing.B) {
		_, addr, pool := serve(b, ServerConfig{Handler: h})
		benchRequests(b, addr, pool)
	})
	b.Run("http3.Server", func(b *testing.B) {
		tc, pool := testTLS(b)
		ln, err := quic.ListenAddr("127.0.0.1:0", http3.ConfigureTLSConfig(tc), NewServer(ServerConfig{}).QUICConfig(nil))
		if err != nil {
			b.Fatal(err)
		}
		srv := &http3.Server{Handler: h}
		go func() { _ = srv.ServeListener(ln) }()
		b.Cleanup(func() { srv.Close(); ln.Close() })
		benchRequests(b, ln.Addr().String(), pool)
	})
}

func benchRequests(b *testing.B, addr string, pool *x509.CertPool) {
	_, cc := dial(b, addr, pool, nil)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			resp, err := get(ctx, cc, addr, "/x")
			if err != nil {
				b.Error(err)
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	})
}
