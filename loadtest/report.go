package loadtest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"sort"
	"strings"
	"time"
)

// Report is what a run measured. Latencies are in milliseconds.
type Report struct {
	Mode      string  `json:"mode"`
	Transport string  `json:"transport"`
	Target    string  `json:"target"`
	Workers   int     `json:"workers"`
	Rate      float64 `json:"rate,omitempty"`
	Devices   int     `json:"devices"`
	Mix       string  `json:"mix"`
	Prefetch  bool    `json:"prefetch"`
	Presign   bool    `json:"presign,omitempty"`

	Seconds float64 `json:"seconds"`
	// Attests counts every attest sent, Replays those that replayed a used
	// nonce (evidence kind replay: the node refuses them before any
	// signature work, so they are not attestation throughput), and
	// FreshAttestsPerSec the others per second: the headline rate.
	Attests            uint64  `json:"attests"`
	Replays            uint64  `json:"replays"`
	FreshAttestsPerSec float64 `json:"fresh_attests_per_sec"`
	Challenges         uint64  `json:"challenges"`
	AttestsPerSec      float64 `json:"attests_per_sec"`
	ChallengesPerSec   float64 `json:"challenges_per_sec"`
	Errors             uint64  `json:"errors"`
	Refused            uint64  `json:"refused"`
	// RateLimitedChallenges and RateLimitedAttests count 429 answers
	// (the node's per-client-IP and per-device rate limits); Overloaded
	// counts 503 answers (load shedding).
	RateLimitedChallenges uint64 `json:"rate_limited_challenges"`
	RateLimitedAttests    uint64 `json:"rate_limited_attests"`
	Overloaded            uint64 `json:"overloaded"`
	// MostlyRateLimited: more than half the requests of the run were
	// refused by rate limits, so its figures measure the limits, not
	// attestation. Summary is the report's verdict on itself, in words.
	MostlyRateLimited bool   `json:"mostly_rate_limited"`
	Summary           string `json:"summary"`
	// Unsent operations were due but never sent: the run ended first.
	Unsent uint64 `json:"unsent"`
	// TargetCPUSeconds is the CPU time the node spent during the run (with
	// Config.Admin), and AttestsPerTargetCPUSecond the attests per CPU
	// second of the node: its throughput whatever else shares the machine.
	TargetCPUSeconds          float64 `json:"target_cpu_seconds,omitempty"`
	AttestsPerTargetCPUSecond float64 `json:"attests_per_target_cpu_second,omitempty"`
	TargetRSSBytes            int64   `json:"target_rss_bytes,omitempty"`
	// NoncesExhausted: the prefetched nonces ran out before the run's end.
	NoncesExhausted bool `json:"nonces_exhausted,omitempty"`

	// Latency by series: operation (from the due time in open mode, to the
	// attest's answer), challenge, attest, attest_admitted (answered 200),
	// refused (answered 429 or 503).
	Latency map[string]Quantiles `json:"latency_ms"`
	// Verdicts counts attest answers with a token, by arc reason ("pass",
	// "app_unknown" for the decoy of an unregistered app).
	Verdicts map[string]uint64 `json:"verdicts"`
	// ErrorCodes counts non-200 answers and transport errors, as
	// "endpoint code (status)".
	ErrorCodes map[string]uint64 `json:"errors_by_code"`
	// Unexpected counts answers that are not what the evidence kind must
	// get, as "kind → outcome" (empty when the target is correct and not
	// shedding).
	Unexpected map[string]uint64 `json:"unexpected"`
	RetryAfter map[string]uint64 `json:"retry_after,omitempty"`
}

// Quantiles summarise one latency series, in milliseconds.
type Quantiles struct {
	N    uint64  `json:"n"`
	Mean float64 `json:"mean"`
	P50  float64 `json:"p50"`
	P90  float64 `json:"p90"`
	P99  float64 `json:"p99"`
	P999 float64 `json:"p99_9"`
	Max  float64 `json:"max"`
}

func quantilesOf(s *Snapshot) Quantiles {
	f := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	return Quantiles{N: s.N, Mean: f(s.Mean()), P50: f(s.Quantile(0.5)), P90: f(s.Quantile(0.9)), P99: f(s.Quantile(0.99)),
		P999: f(s.Quantile(0.999)), Max: f(s.Max)}
}

func (r *runner) report(u *url.URL, elapsed time.Duration) *Report {
	st := r.stats
	rep := &Report{
		Mode: r.cfg.Mode, Transport: r.cfg.Transport, Target: u.String(), Workers: r.cfg.Workers, Devices: r.cfg.Devices,
		Mix: r.cfg.Mix.String(), Prefetch: r.cfg.Prefetch, Presign: r.cfg.Presign, Seconds: elapsed.Seconds(),
		Attests: st.attests.Load(), Replays: st.replays.Load(), Challenges: st.challenges.Load(), Errors: st.errors.Load(),
		Refused: st.refused.Load(), RateLimitedChallenges: st.rateLimitedChallenges.Load(),
		RateLimitedAttests: st.rateLimitedAttests.Load(), Overloaded: st.overloaded.Load(),
		Unsent: st.unsent.Load(), NoncesExhausted: st.exhausted.Load(),
		Latency: map[string]Quantiles{"operation": quantilesOf(st.op.Snapshot())}, Verdicts: map[string]uint64{},
	}
	if r.cfg.Mode == ModeOpen {
		rep.Rate = r.cfg.Rate
	}
	if s := elapsed.Seconds(); s > 0 {
		rep.AttestsPerSec = float64(rep.Attests) / s
		rep.FreshAttestsPerSec = float64(rep.Attests-rep.Replays) / s
		rep.ChallengesPerSec = float64(rep.Challenges) / s
	}
	for name, h := range st.latency {
		if h.Count() > 0 {
			rep.Latency[name] = quantilesOf(h.Snapshot())
		}
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	for label, n := range st.outcomes {
		if v, ok := strings.CutPrefix(label, "verdict:"); ok {
			rep.Verdicts[v] += n
		}
	}
	rep.ErrorCodes = copyMap(st.errorCodes)
	rep.Unexpected = copyMap(st.unexpected)
	rep.RetryAfter = copyMap(st.retryAfter)
	rep.summarize()
	return rep
}

func copyMap(m map[string]uint64) map[string]uint64 {
	c := make(map[string]uint64, len(m))
	for k, v := range m {
		c[k] = v
	}
	return c
}

// WriteJSON writes the report as one JSON object.
func (rep *Report) WriteJSON(w io.Writer) error { return writeJSON(w, rep) }

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// WriteText writes the report for people.
func (rep *Report) WriteText(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "attestload: %s loop, %s, target %s, %d workers", rep.Mode, rep.Transport, rep.Target, rep.Workers)
	if rep.Rate > 0 {
		fmt.Fprintf(&b, ", %.0f operations/s offered", rep.Rate)
	}
	fmt.Fprintf(&b, ", %d devices, mix %s", rep.Devices, rep.Mix)
	if rep.Prefetch {
		b.WriteString(", nonces prefetched")
	}
	if rep.Presign {
		b.WriteString(" and requests presigned")
	}
	fmt.Fprintf(&b, "\n\n%-20s %.1f s\n", "elapsed", rep.Seconds)
	fmt.Fprintf(&b, "%-20s %d with a fresh nonce (%.0f/s)\n", "attests", rep.Attests-rep.Replays, rep.FreshAttestsPerSec)
	if rep.Replays > 0 {
		fmt.Fprintf(&b, "%-20s %d more attests replayed a used nonce (%s of the attests sent; not in the rate above)\n",
			"replays", rep.Replays, percent(rep.Replays, rep.Attests))
	}
	fmt.Fprintf(&b, "%-20s %d (%.0f/s)\n", "challenges", rep.Challenges, rep.ChallengesPerSec)
	fmt.Fprintf(&b, "%-20s %d, of which refused (429/503) %d\n", "non-200 answers", rep.Errors, rep.Refused)
	if rep.Refused > 0 {
		fmt.Fprintf(&b, "%-20s %d challenges and %d attests rate_limited (429), %d overloaded (503): %s of the requests sent\n",
			"refused", rep.RateLimitedChallenges, rep.RateLimitedAttests, rep.Overloaded, percent(rep.Refused, rep.Attests+rep.Challenges))
	}
	if rep.TargetCPUSeconds > 0 {
		fmt.Fprintf(&b, "%-20s %.1f CPU s (%.2f cores), %.0f attests per CPU s (replays included), resident %.1f MiB\n", "target",
			rep.TargetCPUSeconds, rep.TargetCPUSeconds/rep.Seconds, rep.AttestsPerTargetCPUSecond, float64(rep.TargetRSSBytes)/(1<<20))
	}
	if rep.Unsent > 0 {
		fmt.Fprintf(&b, "%-20s %d (due but not sent before the end)\n", "unsent", rep.Unsent)
	}
	if rep.NoncesExhausted {
		b.WriteString("the prefetched nonces ran out before the end of the run\n")
	}
	fmt.Fprintf(&b, "\nlatency (ms)         %8s %8s %8s %8s %8s %8s %9s\n", "mean", "p50", "p90", "p99", "p99.9", "max", "n")
	for _, name := range []string{"operation", latChallenge, latAttest, latAttestAdmitted, latRefused} {
		q, ok := rep.Latency[name]
		if !ok {
			continue
		}
		fmt.Fprintf(&b, "  %-18s %8.3f %8.3f %8.3f %8.3f %8.3f %8.3f %9d\n", name, q.Mean, q.P50, q.P90, q.P99, q.P999, q.Max, q.N)
	}
	section := func(title string, m map[string]uint64) {
		if len(m) == 0 {
			return
		}
		fmt.Fprintf(&b, "\n%s\n", title)
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Slice(keys, func(i, j int) bool { return m[keys[i]] > m[keys[j]] || m[keys[i]] == m[keys[j]] && keys[i] < keys[j] })
		for _, k := range keys {
			fmt.Fprintf(&b, "  %-44s %d\n", k, m[k])
		}
	}
	section("verdicts by reason", rep.Verdicts)
	section("errors by code", rep.ErrorCodes)
	section("Retry-After seen (s)", rep.RetryAfter)
	if len(rep.Unexpected) > 0 {
		section("UNEXPECTED answers (kind → outcome)", rep.Unexpected)
	}
	fmt.Fprintf(&b, "\n%s\n", rep.Summary)
	_, err := io.WriteString(w, b.String())
	return err
}
