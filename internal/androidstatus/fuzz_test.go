package androidstatus

import (
	"testing"
	"time"
)

// FuzzMaxAge feeds the Cache-Control reader arbitrary headers (a hostile
// status server writes them); the committed corpus holds the attacker's
// (negative, huge, repeated, quoted max-age, no-store). Whatever it says,
// the refresh stays between the floor and the configured refresh.
func FuzzMaxAge(f *testing.F) {
	for _, s := range []string{"max-age=3600", "public, max-age=0", "no-store", "max-age=-1", "max-age=99999999999999999999",
		`max-age="60"`, "max-age=60, max-age=1", "MAX-AGE=5", "max-age", "max-age=1e9", ",,,,"} {
		f.Add(s)
	}
	s := schedule{refresh: time.Hour, minRefresh: time.Minute, backoffBase: 10 * time.Second}
	f.Fuzz(func(t *testing.T, header string) {
		age := maxAgeOf(header)
		if age < -1 || age > 999999999*time.Second {
			t.Fatalf("maxAgeOf(%q) = %v", header, age)
		}
		for _, j := range []float64{0, 0.5, 0.999} {
			if d := s.afterSuccess(age, j); d < s.minRefresh || d > s.refresh {
				t.Fatalf("Cache-Control %q: next fetch in %v, outside [%v, %v]", header, d, s.minRefresh, s.refresh)
			}
		}
	})
}

// FuzzParseSource feeds --android-status values; a URL it accepts is
// https, or http to a loopback IP literal, with a host and no user
// information.
func FuzzParseSource(f *testing.F) {
	for _, s := range []string{"https://android.googleapis.com/attestation/status", "http://127.0.0.1:8080/s", "http://[::1]/",
		"http://localhost/", "http://10.0.0.1/", "http://127.0.0.1.nip.io/", "http://[::ffff:7f00:1]/", "https://u:p@h/",
		"HTTP://127.0.0.1/", "http://127.0.0.1%2f@evil.example/", "file:///etc/passwd", "status.json"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		src, err := ParseSource(v)
		if err != nil || !src.IsURL() {
			return
		}
		u := src.URL
		if u.User != nil || u.Hostname() == "" {
			t.Fatalf("%q: accepted %+v", v, u)
		}
		if u.Scheme != "https" && !(u.Scheme == "http" && loopback(u.Hostname())) {
			t.Fatalf("%q: accepted scheme %q host %q", v, u.Scheme, u.Hostname())
		}
	})
}
