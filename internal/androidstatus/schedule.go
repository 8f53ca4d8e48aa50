package androidstatus

import (
	"strconv"
	"strings"
	"time"
)

// Defaults of Config.
const (
	DefaultRefresh     = time.Hour
	DefaultMinRefresh  = time.Minute
	DefaultTimeout     = 30 * time.Second
	DefaultPoll        = 2 * time.Second
	DefaultBackoffBase = 10 * time.Second
)

// schedule computes the delay before the next fetch of a URL source. It is
// pure: the jitter j is a number in [0, 1) that the caller draws (one
// outside it, or NaN, from a faulty source, is taken as its nearest end:
// the bounds below hold whatever it is).
type schedule struct {
	refresh, minRefresh, backoffBase time.Duration
}

// afterSuccess is the delay after a good answer: refresh, or the answer's
// max-age when it is shorter (maxAge < 0: none given) but never shorter
// than minRefresh, whatever the server says; less up to a tenth at random
// so that nodes do not fetch in step (a delay the server shortened stays
// at least minRefresh).
func (s schedule) afterSuccess(maxAge time.Duration, j float64) time.Duration {
	d, floor := s.refresh, time.Duration(0)
	if maxAge >= 0 && maxAge < d {
		d, floor = min(max(maxAge, s.minRefresh), s.refresh), min(s.minRefresh, s.refresh)
	}
	d -= time.Duration(float64(d) * 0.1 * unit(j))
	return max(d, floor)
}

// afterFailure is the delay after the n-th failure in a row (n >= 1):
// backoffBase doubled n-1 times, at most refresh, then between half of
// that and all of it at random.
func (s schedule) afterFailure(n int, j float64) time.Duration {
	d := s.backoffBase
	for i := 1; i < n && d < s.refresh; i++ {
		d *= 2
	}
	d = min(d, s.refresh)
	return d/2 + time.Duration(float64(d/2)*unit(j))
}

// unit is j within [0, 1] (NaN: 0).
func unit(j float64) float64 {
	if !(j > 0) {
		return 0
	}
	return min(j, 1)
}

// maxAgeOf reads the max-age directive of a Cache-Control header (RFC
// 9111 §5.2.2.1): seconds, as a decimal of at most 9 digits; -1 when there
// is none or it does not read. no-cache and no-store count as max-age=0
// (the floor, minRefresh, then applies). A header longer than 1 KiB is
// ignored.
func maxAgeOf(header string) time.Duration {
	if len(header) > 1024 {
		return -1
	}
	age := time.Duration(-1)
	for _, d := range strings.Split(header, ",") {
		name, value, _ := strings.Cut(strings.TrimSpace(d), "=")
		switch strings.ToLower(strings.TrimSpace(name)) {
		case "no-cache", "no-store":
			return 0
		case "max-age":
			value = strings.Trim(strings.TrimSpace(value), `"`)
			if len(value) == 0 || len(value) > 9 {
				continue
			}
			n, err := strconv.Atoi(value)
			if err != nil || n < 0 {
				continue
			}
			if a := time.Duration(n) * time.Second; age < 0 || a < age {
				age = a
			}
		}
	}
	return age
}
