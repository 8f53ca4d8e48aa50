package bench

import (
	"sync"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/attestd/attestd/crypto/token"
	"github.com/attestd/attestd/internal/testenv"
)

// The goal ratios, measured with both sides interleaved in small batches
// within one benchmark, so that other work on a shared machine slows both
// sides alike and cancels out of the ratio (the separate benchmarks' medians
// can be minutes apart). Each reports its ratio as a metric:
//
//	BenchmarkPaired/AttestHS256-Floor       x-floor: BenchmarkAttest/HS256 ÷ BenchmarkAttestFloor (goal ≤ 1.15)
//	BenchmarkPaired/HTTPChallenge-Hello     x-hello-rps: HTTPChallenge throughput ÷ FasthttpHello's (goal ≥ 0.75)
//	BenchmarkPaired/HTTPChallenge-HelloSameSettings  the same against a hello server with the fastapi
//	                                        server's limits and timeouts, the timeouts as fasthttp's own
//	                                        (a deadline change per request, which the fastapi server avoids)
//	BenchmarkPaired/TokenVerifyHS256-GolangJWT  x-speedup: golang-jwt time ÷ ours (goal ≥ 5)
//	BenchmarkPaired/RequestSignatureVerifyHS256-Floor  x-floor: BenchmarkRequestSignatureVerify/HS256 ÷
//	                                        one ECDSA P-256 verification (goal ≤ 1.3)
//
// ns/op is the mean of one operation of either side.

const pairBatch = 64

// pair runs a and b alternately in batches of n until each ran total times
// and returns the time each took.
func pair(total, n int, a, b func(int)) (ta, tb time.Duration) {
	for done := 0; done < total; done += n {
		k := min(n, total-done)
		t0 := time.Now()
		a(k)
		t1 := time.Now()
		b(k)
		t2 := time.Now()
		ta += t1.Sub(t0)
		tb += t2.Sub(t1)
	}
	return ta, tb
}

func BenchmarkPaired(b *testing.B) {
	e := newEnv(b)
	b.Run("RequestSignatureVerifyHS256-Floor", func(b *testing.B) {
		sc := newSigCase(b, e, testenv.App, b.N)
		floor := sigFloor(b, e)
		i := 0
		b.ReportAllocs()
		b.ResetTimer()
		ts, tf := pair(b.N, pairBatch, func(k int) {
			for ; k > 0; k-- {
				if err := sc.verify(i); err != nil {
					b.Fatal(err)
				}
				i++
			}
		}, func(k int) {
			for ; k > 0; k-- {
				if !floor() {
					b.Fatal("floor")
				}
			}
		})
		b.ReportMetric(float64(ts)/float64(tf), "x-floor")
		b.ReportMetric(float64(ts)/float64(b.N), "signed-ns/op")
		b.ReportMetric(float64(tf)/float64(b.N), "floor-ns/op")
	})
	b.Run("AttestHS256-Floor", func(b *testing.B) {
		reqs := e.requests(b, testenv.App, b.N)
		floor := newFloor(b, e, token.HS256)
		dst := make([]byte, 0, 4096)
		i := 0
		b.ReportAllocs()
		b.ResetTimer()
		ta, tf := pair(b.N, pairBatch, func(k int) {
			for ; k > 0; k-- {
				var err error
				if dst, err = e.attest(reqs[i], dst); err != nil {
					b.Fatal(err)
				}
				i++
			}
		}, func(k int) {
			for ; k > 0; k-- {
				if err := floor(); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.ReportMetric(float64(ta)/float64(tf), "x-floor")
		b.ReportMetric(float64(ta)/float64(b.N), "attest-ns/op")
		b.ReportMetric(float64(tf)/float64(b.N), "floor-ns/op")
	})
	// The challenge against a bare hello server, and against one with the
	// fastapi server's limits and fasthttp's own timeouts.
	for _, c := range []struct {
		name         string
		sameSettings bool
	}{{"HTTPChallenge-Hello", false}, {"HTTPChallenge-HelloSameSettings", true}} {
		b.Run(c.name, func(b *testing.B) {
			api := newFastapi(b, e)
			hello := newHelloServer(b, c.sameSettings)
			const conc = 8
			run := func(hc *fasthttp.HostClient) func(int) {
				return func(k int) { parallelPosts(b, hc, conc, k) }
			}
			b.ReportAllocs()
			b.ResetTimer()
			tc, th := pair(b.N, 8*pairBatch, run(api), run(hello))
			b.ReportMetric(float64(th)/float64(tc), "x-hello-rps")
			b.ReportMetric(float64(tc)/float64(b.N), "challenge-ns/op")
			b.ReportMetric(float64(th)/float64(b.N), "hello-ns/op")
		})
	}
	b.Run("TokenVerifyHS256-GolangJWT", func(b *testing.B) {
		vc := newVerifyCase(b, e, testenv.App)
		jwtVerify := newGolangJWT(b, vc)
		b.ReportAllocs()
		b.ResetTimer()
		tv, tj := pair(b.N, pairBatch, func(k int) {
			for ; k > 0; k-- {
				if err := vc.verify(); err != nil {
					b.Fatal(err)
				}
			}
		}, func(k int) {
			for ; k > 0; k-- {
				if err := jwtVerify(); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.ReportMetric(float64(tj)/float64(tv), "x-speedup")
		b.ReportMetric(float64(tv)/float64(b.N), "ours-ns/op")
		b.ReportMetric(float64(tj)/float64(b.N), "golangjwt-ns/op")
	})
}

// parallelPosts sends k challenge POSTs over conc goroutines.
func parallelPosts(b *testing.B, hc *fasthttp.HostClient, conc, k int) {
	var wg sync.WaitGroup
	per := (k + conc - 1) / conc
	for g := 0; g < conc && k > 0; g++ {
		n := min(per, k)
		k -= n
		wg.Add(1)
		go func(n int) {
			defer wg.Done()
			req := newPost("/v1/challenge", []byte("{}"))
			defer fasthttp.ReleaseRequest(req)
			resp := fasthttp.AcquireResponse()
			defer fasthttp.ReleaseResponse(resp)
			for ; n > 0; n-- {
				if err := post(hc, req, resp, 200); err != nil {
					b.Error(err)
					return
				}
			}
		}(n)
	}
	wg.Wait()
}
