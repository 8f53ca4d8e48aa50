// Command h3stall measures the slow-body attack on a running node over
// HTTP/3: it opens -conns connections (kept alive by QUIC PINGs) and on
// each tries -streams requests POST /v1/attest with Content-Length 64 KiB,
// 1 KiB of the body, then nothing; it samples the node's /metrics before,
// while the stalls are held, and after it closes the connections, and
// prints one line per sample. It is a measuring tool for the figures of
// docs and reviews, not a test.
//
//	go run ./internal/h3e2e/h3stall -addr 127.0.0.1:8443 -admin 127.0.0.1:9090 -ca node.crt
package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/quic-go/quic-go"
	"github.com/quic-go/quic-go/http3"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8443", "HTTP/3 listener")
	admin := flag.String("admin", "127.0.0.1:9090", "admin listener (/metrics)")
	ca := flag.String("ca", "", "PEM certificate to trust")
	conns := flag.Int("conns", 4, "connections")
	streams := flag.Int("streams", 100, "stalled requests tried per connection")
	hold := flag.Duration("hold", 90*time.Second, "how long the stall is held")
	flag.Parse()
	pem, err := os.ReadFile(*ca)
	if err != nil {
		fail(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	sample := func(phase string, start time.Time, s *stats) {
		m := metrics("http://" + *admin + "/metrics")
		fmt.Printf("%-8s t=%5.1fs goroutines=%5.0f heap_inuse=%6.1fMiB rss=%6.1fMiB in_flight=%4.0f sent=%d answered=%d reset=%d\n",
			phase, time.Since(start).Seconds(), m["go_goroutines"], m["go_memstats_heap_inuse_bytes"]/(1<<20),
			m["process_resident_memory_bytes"]/(1<<20), m["attestd_limit_in_flight"], s.sent.Load(), s.answered.Load(), s.reset.Load())
	}
	start := time.Now()
	s := &stats{status: map[int]int{}}
	sample("before", start, s)
	var qcs []*quic.Conn
	for range *conns {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		qc, err := quic.DialAddr(ctx, *addr, &tls.Config{RootCAs: pool, NextProtos: []string{http3.NextProtoH3}},
			&quic.Config{KeepAlivePeriod: time.Second, MaxIdleTimeout: 5 * time.Minute})
		cancel()
		if err != nil {
			fmt.Println("connection refused:", err)
			continue
		}
		qcs = append(qcs, qc)
		cc := (&http3.Transport{}).NewClientConn(qc)
		for range *streams {
			go s.stall(cc, "https://"+*addr+"/v1/attest")
		}
	}
	for _, at := range []time.Duration{5 * time.Second, 15 * time.Second, 30 * time.Second, 60 * time.Second, *hold} {
		if at > *hold {
			continue
		}
		time.Sleep(time.Until(start.Add(at)))
		sample("during", start, s)
	}
	for _, qc := range qcs {
		_ = qc.CloseWithError(0, "")
	}
	time.Sleep(5 * time.Second)
	sample("after", start, s)
	s.mu.Lock()
	fmt.Println("answers by status:", s.status)
	s.mu.Unlock()
}

type stats struct {
	sent, answered, reset atomic.Int64
	mu                    sync.Mutex
	status                map[int]int
}

// stall sends one request whose body stops after 1 KiB; it waits for the
// answer (or the stream's reset) and counts it.
func (s *stats) stall(cc *http3.ClientConn, url string) {
	pr, pw := io.Pipe()
	req, _ := http.NewRequest(http.MethodPost, url, pr)
	req.Header.Set("Content-Type", "application/json")
	req.ContentLength = 64 << 10
	go func() {
		if _, err := pw.Write(make([]byte, 1<<10)); err == nil {
			s.sent.Add(1)
		}
	}()
	resp, err := cc.RoundTrip(req)
	if err != nil {
		s.reset.Add(1)
		return
	}
	resp.Body.Close()
	s.answered.Add(1)
	s.mu.Lock()
	s.status[resp.StatusCode]++
	s.mu.Unlock()
}

// metrics reads the unlabelled samples of a Prometheus text page.
func metrics(url string) map[string]float64 {
	out := map[string]float64{}
	resp, err := http.Get(url)
	if err != nil {
		fail(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), " ")
		if ok && !strings.HasPrefix(k, "#") && !strings.Contains(k, "{") {
			out[k], _ = strconv.ParseFloat(v, 64)
		}
	}
	return out
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "h3stall:", err)
	os.Exit(1)
}
