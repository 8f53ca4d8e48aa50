package daemon

import (
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/attestd/attestd/internal/api"
	"github.com/attestd/attestd/internal/metrics"
)

// TestTransportObserverCountsWithoutAllocating: the per-transport request
// counter gets each (endpoint, status) its own series, as before the
// cache, and counting a request allocates nothing.
func TestTransportObserverCountsWithoutAllocating(t *testing.T) {
	core := metrics.New(time.Now, nil)
	reg := prometheus.NewRegistry()
	m := newTransportMetrics(reg)
	o := m.observer(core, "http1")
	o.Request(api.EndpointChallenge, 200, "", time.Millisecond)
	o.Request(api.EndpointChallenge, 200, "", time.Millisecond)
	o.Request(api.EndpointAttest, 415, "unsupported_media_type", time.Millisecond)
	got := map[string]float64{}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "attestd_transport_requests_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			key := ""
			for _, l := range m.GetLabel() {
				key += l.GetName() + "=" + l.GetValue() + " "
			}
			got[key] = m.GetCounter().GetValue()
		}
	}
	want := map[string]float64{
		"endpoint=challenge status=200 transport=http1 ": 2,
		"endpoint=attest status=415 transport=http1 ":    1,
	}
	if len(got) != len(want) {
		t.Fatalf("series %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Fatalf("series %v, want %v", got, want)
		}
	}
	if raceEnabled {
		return // allocation counts are meaningless under -race
	}
	if n := testing.AllocsPerRun(1000, func() { o.Request(api.EndpointAttest, 200, "", time.Millisecond) }); n != 0 {
		t.Errorf("%v allocations per request, want 0", n)
	}
}
