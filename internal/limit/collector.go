package limit

import "github.com/prometheus/client_golang/prometheus"

// Collector exports the limits in force and the limiter's counters as
// Prometheus metrics; register it beside the node's other metrics. A nil
// Limiter exports nothing.
func (l *Limiter) Collector() prometheus.Collector { return &collector{l: l} }

var (
	descInFlight = prometheus.NewDesc("attestd_limit_in_flight", "The API's requests being served now (admitted, not yet answered); proxied requests are attestd_limit_proxy_in_flight.", nil, nil)
	descMaxIn    = prometheus.NewDesc("attestd_limit_max_in_flight", "The bound on the API's requests in flight (0: none).", nil, nil)
	descProxyIn  = prometheus.NewDesc("attestd_limit_proxy_in_flight", "Proxied requests being served now (admitted, upstream answer header not yet in).", nil, nil)
	descProxyMax = prometheus.NewDesc("attestd_limit_proxy_max_in_flight", "The bound on proxied requests in flight, apart from the API's (0: none).", nil, nil)
	descProxyDev = prometheus.NewDesc("attestd_limit_proxy_max_in_flight_per_device", "The bound on one device's proxied requests in flight, within the proxy's (0: none).", nil, nil)
	descDevices  = prometheus.NewDesc("attestd_limit_proxy_devices", "Devices with proxied requests in flight (counted under a per-device bound only).", nil, nil)
	descRefused  = prometheus.NewDesc("attestd_limit_refused_total", "Requests refused before any work, by limit (in_flight, proxy_in_flight, proxy_device_table, queue_delay: overloaded; challenge_ip, attest_device, proxy_device: rate_limited).", []string{"limit"}, nil)
	descEvicted  = prometheus.NewDesc("attestd_limit_table_evictions_total", "Sources forgotten by a full rate table to make room (a sign the table is too small).", []string{"table"}, nil)
	descRate     = prometheus.NewDesc("attestd_limit_rate", "Sustained requests per second allowed per source (0: off).", []string{"limit"}, nil)
	descBurst    = prometheus.NewDesc("attestd_limit_burst", "Requests allowed at once per source.", []string{"limit"}, nil)
	descShare    = prometheus.NewDesc("attestd_limit_shed_share", "Share of new requests refused because requests wait too long for a CPU.", nil, nil)
	descDelay    = prometheus.NewDesc("attestd_limit_queue_delay_seconds", "Scheduler queueing delay (p90) over the last interval sampled, and its bound.", []string{"kind"}, nil)
	descBytes    = prometheus.NewDesc("attestd_limit_table_bytes", "Memory held by the rate tables and the proxy's per-device table, fixed at start.", nil, nil)
)

type collector struct{ l *Limiter }

func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descInFlight, descMaxIn, descProxyIn, descProxyMax, descProxyDev, descDevices, descRefused, descEvicted, descRate, descBurst, descBytes, descShare, descDelay} {
		ch <- d
	}
}

func (c *collector) Collect(ch chan<- prometheus.Metric) {
	if c.l == nil {
		return
	}
	s := c.l.Stats()
	g, k := prometheus.GaugeValue, prometheus.CounterValue
	ch <- prometheus.MustNewConstMetric(descInFlight, g, float64(s.InFlight))
	ch <- prometheus.MustNewConstMetric(descMaxIn, g, float64(s.MaxInFlight))
	ch <- prometheus.MustNewConstMetric(descProxyIn, g, float64(s.ProxyInFlight))
	ch <- prometheus.MustNewConstMetric(descProxyMax, g, float64(s.ProxyMaxInFlight))
	ch <- prometheus.MustNewConstMetric(descProxyDev, g, float64(s.ProxyMaxInFlightPerDevice))
	ch <- prometheus.MustNewConstMetric(descDevices, g, float64(s.ProxyDevices))
	ch <- prometheus.MustNewConstMetric(descRefused, k, float64(s.Overloaded), "in_flight")
	ch <- prometheus.MustNewConstMetric(descRefused, k, float64(s.ProxyOverloaded), "proxy_in_flight")
	ch <- prometheus.MustNewConstMetric(descRefused, k, float64(s.Shed), "queue_delay")
	ch <- prometheus.MustNewConstMetric(descRefused, k, float64(s.ChallengeLimited), "challenge_ip")
	ch <- prometheus.MustNewConstMetric(descRefused, k, float64(s.AttestLimited), "attest_device")
	ch <- prometheus.MustNewConstMetric(descRefused, k, float64(s.ProxyDeviceLimited), "proxy_device")
	ch <- prometheus.MustNewConstMetric(descRefused, k, float64(s.ProxyDeviceTableFull), "proxy_device_table")
	ch <- prometheus.MustNewConstMetric(descEvicted, k, float64(s.ChallengeEvicted), "challenge_ip")
	ch <- prometheus.MustNewConstMetric(descEvicted, k, float64(s.AttestEvicted), "attest_device")
	ch <- prometheus.MustNewConstMetric(descRate, g, s.ChallengeRate, "challenge_ip")
	ch <- prometheus.MustNewConstMetric(descRate, g, s.AttestRate, "attest_device")
	ch <- prometheus.MustNewConstMetric(descBurst, g, float64(s.ChallengeBurst), "challenge_ip")
	ch <- prometheus.MustNewConstMetric(descBurst, g, float64(s.AttestBurst), "attest_device")
	ch <- prometheus.MustNewConstMetric(descBytes, g, float64(s.TableBytes))
	ch <- prometheus.MustNewConstMetric(descShare, g, s.ShedShare)
	ch <- prometheus.MustNewConstMetric(descDelay, g, s.QueueDelay.Seconds(), "observed")
	ch <- prometheus.MustNewConstMetric(descDelay, g, s.MaxQueueDelay.Seconds(), "bound")
}
