package etcde2e

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/attestd/attestd/internal/model"
	"github.com/attestd/attestd/internal/state"
	"github.com/attestd/attestd/internal/testenv"
	"github.com/attestd/attestd/store"
	"github.com/attestd/attestd/store/open"
)

// propagation measures how long changes take to show on every node: each
// change adds a verify key to an ES256 account (one etcd transaction,
// through a store kept open, as a long-running writer would), and one
// poller per node asks the node's JWKS over HTTP every millisecond until
// the new kid shows. A sample is the time from just before the write (read
// at R plus the guarded transaction) to that node's first answer holding
// the new state.
type propagation struct {
	d     *deployment
	nodes []*testenv.Node
	st    store.Store
	seal  state.Sealer
	base  model.Account
	hc    *http.Client
	n     int
}

func newPropagation(t testing.TB) *propagation {
	t.Helper()
	d := newDeployment(t)
	p := &propagation{d: d, base: d.account(t, testenv.AccountES), hc: &http.Client{Timeout: 5 * time.Second}}
	for range 3 {
		p.nodes = append(p.nodes, d.startNode(t, d.url, filepath.Join(t.TempDir(), "snapshot.json")))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var err error
	if p.st, p.seal, err = open.Open(ctx, d.url, open.Options{MasterKeyFile: d.key}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.st.Close() })
	return p
}

// change makes one change and returns how long each node took to show it.
func (p *propagation) change(t testing.TB) []time.Duration {
	t.Helper()
	p.n++
	kid := fmt.Sprintf("p%d", p.n)
	k, err := state.GenerateKey(model.AlgES256, kid, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	acct := p.base
	acct.Keys = append(slices.Clone(p.base.Keys), k)
	b := &model.Bundle{Accounts: []model.Account{acct}}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	out := make([]time.Duration, len(p.nodes))
	errs := make([]error, len(p.nodes))
	var wg sync.WaitGroup
	start := time.Now()
	for i, n := range p.nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out[i], errs[i] = p.poll(ctx, n, kid, start)
		}()
	}
	if _, err := p.st.Update(ctx, func(snap *store.Snapshot) (store.Changes, error) {
		return state.Apply(snap, b, p.seal, rand.Reader)
	}); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("node %d: %v", i, err)
		}
	}
	return out
}

func (p *propagation) poll(ctx context.Context, n *testenv.Node, kid string, start time.Time) (time.Duration, error) {
	url := n.Base + "/v1/accounts/" + testenv.AccountES + "/jwks.json"
	want := `"` + kid + `"`
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		resp, err := p.hc.Do(req)
		if err != nil {
			return 0, err
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return 0, err
		}
		if strings.Contains(string(body), want) {
			return time.Since(start), nil
		}
		select {
		case <-ctx.Done():
			return 0, fmt.Errorf("kid %s not published: %w", kid, ctx.Err())
		case <-time.After(time.Millisecond):
		}
	}
}

// percentile returns the p-th percentile (nearest rank) of sorted ds.
func percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	i := int(float64(len(ds))*p/100+0.999999) - 1
	return ds[max(0, min(i, len(ds)-1))]
}

// TestPropagationLatency makes 50 changes and checks the goal of the issue
// on every node: p99 under 1 s from the etcd write to the node's answer.
// The figures are logged (go test -v); BenchmarkPropagation measures the
// same without the race detector.
func TestPropagationLatency(t *testing.T) {
	p := newPropagation(t)
	var all []time.Duration
	for range 50 {
		all = append(all, p.change(t)...)
	}
	slices.Sort(all)
	p50, p99 := percentile(all, 50), percentile(all, 99)
	t.Logf("propagation over %d samples (50 changes × 3 nodes): p50 %v, p99 %v, max %v",
		len(all), p50.Round(time.Microsecond), p99.Round(time.Microsecond), all[len(all)-1].Round(time.Microsecond))
	if p99 >= time.Second {
		t.Errorf("p99 %v: the goal is under 1 s", p99)
	}
}

// BenchmarkPropagation: one change per iteration, every node's delay a
// sample; reports p50 and p99 in ms. Run at least 50 changes:
//
//	go test -run '^$' -bench Propagation -benchtime 100x ./internal/etcde2e/
func BenchmarkPropagation(b *testing.B) {
	p := newPropagation(b)
	var all []time.Duration
	for b.Loop() {
		all = append(all, p.change(b)...)
	}
	slices.Sort(all)
	b.ReportMetric(float64(percentile(all, 50).Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(percentile(all, 99).Microseconds())/1000, "p99-ms")
	b.ReportMetric(float64(all[len(all)-1].Microseconds())/1000, "max-ms")
	b.ReportMetric(float64(len(all)), "samples")
}
