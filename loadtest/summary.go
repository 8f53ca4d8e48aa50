package loadtest

import (
	"fmt"
	"strings"
)

// MostlyRateLimitedShare is the share of a run's requests refused by rate
// limits above which the run is said to have measured the limits rather
// than attestation (and `attestload run --strict` fails).
const MostlyRateLimitedShare = 0.5

// LimitsAdvice names the node's rate limits and the flags that lift them,
// for the help and for a run that met them.
const LimitsAdvice = `attestd answers 429 rate_limited (with Retry-After) past
--challenge-rate challenges per second per client IP (IPv6: per /64; burst
--challenge-burst; defaults 100/s and 200), and past --attest-rate attests
per second per device key (burst --attest-burst; defaults 5/s and 10),
counting only attests whose signature verified. attestload sends
everything from one address, so against a node with its default limits most
of a run's challenges are refused, and its figures measure the limiter. To
measure attestation, start the node with the rate limits off:
  attestd --challenge-rate 0 --attest-rate 0 ...
(--max-in-flight and --max-queue-delay, the overload shedding, stay on.) Or
spread the attests over more device keys (--devices) to stay under the
per-device limit.`

// summarize sets Summary and MostlyRateLimited: the one line a reader
// should not miss. A run whose requests were mostly refused by rate limits
// says so, whatever else it found; otherwise it says whether every answer
// was the one its evidence must get, and how many were refused.
func (rep *Report) summarize() {
	sent := rep.Attests + rep.Challenges
	limited := rep.RateLimitedChallenges + rep.RateLimitedAttests
	rep.MostlyRateLimited = sent > 0 && float64(limited) > MostlyRateLimitedShare*float64(sent)
	var b strings.Builder
	if rep.MostlyRateLimited {
		fmt.Fprintf(&b, "MOSTLY RATE LIMITED: %s of the %d requests sent were refused rate_limited (%d challenges: the node's --challenge-rate/--challenge-burst per client IP; %d attests: its --attest-rate/--attest-burst per device key), so these figures measure the node's rate limits, not attestation; start the node with --challenge-rate 0 --attest-rate 0 to measure throughput (attestload -h)",
			percent(limited, sent), sent, rep.RateLimitedChallenges, rep.RateLimitedAttests)
		if len(rep.Unexpected) > 0 {
			b.WriteString("; and some answers were UNEXPECTED (above)")
		}
		rep.Summary = b.String()
		return
	}
	if len(rep.Unexpected) == 0 {
		b.WriteString("every answer was the one its evidence must get")
	} else {
		b.WriteString("UNEXPECTED answers: some evidence did not get the answer it must (above)")
	}
	if rep.Refused > 0 {
		fmt.Fprintf(&b, "; %s of the requests sent were refused (%d rate_limited, %d overloaded)", percent(rep.Refused, sent), limited, rep.Overloaded)
	}
	if rep.Replays > 0 {
		fmt.Fprintf(&b, "; %d replays are not counted in the attest rate", rep.Replays)
	}
	rep.Summary = b.String()
}

// Failed reports whether a run fails `attestload run --strict`: it was
// mostly refused by rate limits, or some answer was not the one its
// evidence must get.
func (rep *Report) Failed() bool { return rep.MostlyRateLimited || len(rep.Unexpected) > 0 }

// percent is n/of as a percentage with one decimal ("98.5%").
func percent(n, of uint64) string {
	if of == 0 {
		return "0%"
	}
	return fmt.Sprintf("%.1f%%", 100*float64(n)/float64(of))
}
