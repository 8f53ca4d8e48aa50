package limit

import (
	"errors"
	"fmt"
	"hash/maphash"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/attestd/attestd/internal/apierr"
)

// rateLimited1 fails unless err is rate_limited, 429, Retry-After 1.
func rateLimited1(t *testing.T, what string, err error) {
	t.Helper()
	pub := apierr.From(err)
	if err == nil || pub.Code != apierr.RateLimited || pub.Status != 429 || pub.RetryAfter != 1 {
		t.Fatalf("%s: %v, want rate_limited 429 with Retry-After 1", what, err)
	}
}

// admitBoth takes a place of the pool, then one of device's: the
// proxy's order. Its release gives both back.
func admitBoth(l *Limiter, account, device string) (func(), error) {
	rp, err := l.AdmitProxied()
	if err != nil {
		return nil, err
	}
	rd, err := l.AdmitDevice(account, []byte(device))
	if err != nil {
		rp()
		return nil, err
	}
	return func() { rd(); rp() }, nil
}

// TestOneDeviceCannotFillTheProxyPool is the one-token denial of the
// proxy at the limiter: a device that holds its share of places
// (ProxyMaxInFlightPerDevice) is refused rate_limited, while the pool
// still has places for other devices, of its account and of others, and
// for the same did under another account. Before, nothing but the
// pool's bound stopped one device from taking every place.
func TestOneDeviceCannotFillTheProxyPool(t *testing.T) {
	l := newLimiter(t, Config{ProxyMaxInFlight: 8, ProxyMaxInFlightPerDevice: 2})
	var held []func()
	for range 2 {
		r, err := admitBoth(l, "acme", "attacker")
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, r)
	}
	for i := range 4 {
		_, err := admitBoth(l, "acme", "attacker")
		rateLimited1(t, fmt.Sprintf("the attacker's request %d past its share", 3+i), err)
	}
	if l.ProxyInFlight() != 2 {
		t.Errorf("pool places held: %d, want 2 (a refused device gives its pool place back)", l.ProxyInFlight())
	}
	for _, who := range [][2]string{{"acme", "victim"}, {"other", "victim"}, {"other", "attacker"}, {"acme", ""}} {
		r, err := admitBoth(l, who[0], who[1])
		if err != nil {
			t.Errorf("device %q of account %q while the attacker holds its share: %v", who[1], who[0], err)
			continue
		}
		held = append(held, r)
	}
	s := l.Stats()
	if s.ProxyDeviceLimited != 4 || s.ProxyDeviceTableFull != 0 || s.ProxyDevices != 5 || s.ProxyMaxInFlightPerDevice != 2 {
		t.Errorf("stats %+v, want 4 refused, 5 devices, bound 2", s)
	}
	for _, r := range held {
		r()
	}
	if p, d := l.DevicesInFlight(); p != 0 || d != 0 || l.ProxyInFlight() != 0 {
		t.Errorf("in flight after every release: %d places of %d devices, pool %d", p, d, l.ProxyInFlight())
	}
}

// TestDevicePlaceReleasedOnce: each release gives back exactly the place
// it took: with a device at its share, one release lets exactly one more
// request in; once all are released the device starts again from 0, and
// an empty did is one device like any other.
func TestDevicePlaceReleasedOnce(t *testing.T) {
	l := newLimiter(t, Config{ProxyMaxInFlightPerDevice: 3})
	for _, dev := range []string{"d", ""} {
		var rel []func()
		for range 3 {
			r, err := l.AdmitDevice("acme", []byte(dev))
			if err != nil {
				t.Fatal(err)
			}
			rel = append(rel, r)
		}
		_, err := l.AdmitDevice("acme", []byte(dev))
		rateLimited1(t, "past the share", err)
		rel[0]()
		r, err := l.AdmitDevice("acme", []byte(dev))
		if err != nil {
			t.Fatalf("after one release: %v", err)
		}
		rel[0] = r
		_, err = l.AdmitDevice("acme", []byte(dev))
		rateLimited1(t, "one release gave back more than one place", err)
		if p, d := l.DevicesInFlight(); p != 3 || d != 1 {
			t.Errorf("%d places of %d devices, want 3 of 1", p, d)
		}
		for _, r := range rel {
			r()
		}
		if p, d := l.DevicesInFlight(); p != 0 || d != 0 {
			t.Errorf("%d places of %d devices after every release", p, d)
		}
	}
}

// sameSet returns n devices of account whose counts fall in one set of
// l's device table.
func sameSet(t *testing.T, l *Limiter, account string, n int) []string {
	t.Helper()
	bySet := map[uint64][]string{}
	for i := 0; i < 1<<16; i++ {
		dev := fmt.Sprintf("device-%d", i)
		set := l.deviceHash(account, []byte(dev)) & l.devices.mask
		if bySet[set] = append(bySet[set], dev); len(bySet[set]) == n {
			return bySet[set]
		}
	}
	t.Fatal("no set found")
	return nil
}

// TestDeviceCountsCannotBeEvicted is the eviction attack on the device
// table: an attacker whose devices fill a set of the table does not
// evict a live count, whether the newcomer is another device or one of
// theirs: every device in the set stays at its share (still refused),
// and the newcomer is refused overloaded (fail closed), until a count of
// the set drops to 0 and frees its slot.
func TestDeviceCountsCannotBeEvicted(t *testing.T) {
	l := newLimiter(t, Config{ProxyMaxInFlight: 8, ProxyMaxInFlightPerDevice: 2, Seed: maphash.MakeSeed()})
	if n := len(l.devices.slots); n != 64 {
		t.Fatalf("a pool of 8 has a device table of %d slots, want 64", n)
	}
	devs := sameSet(t, l, "acme", devWays+1)
	rel := map[string][]func(){}
	for _, d := range devs[:devWays] {
		for range 2 {
			r, err := l.AdmitDevice("acme", []byte(d))
			if err != nil {
				t.Fatal(err)
			}
			rel[d] = append(rel[d], r)
		}
	}
	newcomer := devs[devWays]
	for range 3 {
		_, err := l.AdmitDevice("acme", []byte(newcomer))
		overloaded(t, "a newcomer to a full set", err)
	}
	for _, d := range devs[:devWays] {
		_, err := l.AdmitDevice("acme", []byte(d))
		rateLimited1(t, "a device of a full set after newcomers came (its count was evicted?)", err)
	}
	if s := l.Stats(); s.ProxyDeviceTableFull != 3 || s.ProxyDeviceLimited != devWays || s.ProxyDevices != devWays {
		t.Errorf("stats %+v", s)
	}
	victim := devs[0]
	rel[victim][0]()
	if _, err := l.AdmitDevice("acme", []byte(newcomer)); err == nil {
		t.Error("a newcomer took a slot whose device still holds a place")
	}
	rel[victim][1]()
	r, err := l.AdmitDevice("acme", []byte(newcomer))
	if err != nil {
		t.Fatalf("a newcomer once a slot of its set is free: %v", err)
	}
	r()
	for _, d := range devs[1:devWays] {
		for _, r := range rel[d] {
			r()
		}
	}
	if p, d := l.DevicesInFlight(); p != 0 || d != 0 {
		t.Errorf("%d places of %d devices after every release", p, d)
	}
}

// TestDeviceTableIsBounded: the table's size follows the pool's bound
// (devSlotsPerPlace slots a place, a power of two, 64 to devSlotsMax),
// whatever the devices seen, and its memory is counted in TableBytes.
func TestDeviceTableIsBounded(t *testing.T) {
	for _, tc := range []struct{ pool, want int }{
		{0, devSlotsUnbounded}, {1, 64}, {8, 64}, {9, 128}, {1024, 8192}, {1 << 30, devSlotsMax},
	} {
		if got := devSlotsFor(tc.pool); got != tc.want {
			t.Errorf("pool %d: %d slots, want %d", tc.pool, got, tc.want)
		}
	}
	l := newLimiter(t, Config{ProxyMaxInFlight: 1024, ProxyMaxInFlightPerDevice: 1})
	before := l.Stats().TableBytes
	for i := range 100_000 {
		if r, err := l.AdmitDevice("acme", fmt.Appendf(nil, "d%d", i)); err == nil {
			r()
		}
	}
	if n, b := len(l.devices.slots), l.Stats().TableBytes; n != 8192 || b != before || b > 8192*48 {
		t.Errorf("after 100 000 devices: %d slots, %d bytes (at New: %d)", n, b, before)
	}
	if _, err := New(Config{ProxyMaxInFlightPerDevice: -1}); !errors.Is(err, ErrConfig) {
		t.Errorf("a negative per-device bound: %v", err)
	}
}

// TestAdmitDeviceNoAllocations: admitting, refusing (share and full
// set) and releasing allocate nothing (refusals are what an attack is
// made of); nor does a Limiter without the bound, or a nil one.
func TestAdmitDeviceNoAllocations(t *testing.T) {
	skipIfRace(t)
	l := newLimiter(t, Config{ProxyMaxInFlight: 8, ProxyMaxInFlightPerDevice: 1})
	devs := sameSet(t, l, "acme", devWays+1)
	keys := make([][]byte, len(devs))
	for i, d := range devs {
		keys[i] = []byte(d)
	}
	off := newLimiter(t, Config{})
	var nilL *Limiter
	for name, f := range map[string]func(){
		"admit": func() { r, _ := l.AdmitDevice("acme", keys[0]); r() },
		"share": func() { r, _ := l.AdmitDevice("acme", keys[0]); _, _ = l.AdmitDevice("acme", keys[0]); r() },
		"full": func() {
			var rs [devWays]func()
			for i := range devWays {
				rs[i], _ = l.AdmitDevice("acme", keys[i])
			}
			_, _ = l.AdmitDevice("acme", keys[devWays])
			for _, r := range rs {
				r()
			}
		},
		"off": func() { r, _ := off.AdmitDevice("acme", keys[0]); r() },
		"nil": func() { r, _ := nilL.AdmitDevice("acme", keys[0]); r() },
	} {
		if a := testing.AllocsPerRun(1000, f); a != 0 {
			t.Errorf("%s: %.1f allocations", name, a)
		}
	}
	if s := l.Stats(); s.ProxyDeviceLimited == 0 || s.ProxyDeviceTableFull == 0 {
		t.Errorf("the refusals did not happen: %+v", s)
	}
}

// TestAdmitDeviceConcurrent: goroutines admitting a few devices at once
// never see a device hold more than its share, and every place comes back.
func TestAdmitDeviceConcurrent(t *testing.T) {
	const share, devs, workers, rounds = 3, 4, 16, 2000
	l := newLimiter(t, Config{ProxyMaxInFlightPerDevice: share})
	var held [devs]atomic.Int64
	var over, admitted atomic.Int64
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range rounds {
				d := (w + i) % devs
				r, err := l.AdmitDevice("acme", []byte{byte(d)})
				if err != nil {
					continue
				}
				admitted.Add(1)
				if held[d].Add(1) > share {
					over.Add(1)
				}
				held[d].Add(-1)
				r()
			}
		}()
	}
	wg.Wait()
	if over.Load() != 0 || admitted.Load() == 0 {
		t.Errorf("a device held more than its share %d times (%d admitted)", over.Load(), admitted.Load())
	}
	if p, d := l.DevicesInFlight(); p != 0 || d != 0 {
		t.Errorf("%d places of %d devices after every release", p, d)
	}
	if s := l.Stats(); uint64(admitted.Load())+s.ProxyDeviceLimited != workers*rounds {
		t.Errorf("%d admitted + %d refused != %d", admitted.Load(), s.ProxyDeviceLimited, workers*rounds)
	}
}

// TestCollectorProxyDevice: the per-device bound is exported:
// attestd_limit_proxy_max_in_flight_per_device, attestd_limit_proxy_devices
// and attestd_limit_refused_total{limit="proxy_device"}.
func TestCollectorProxyDevice(t *testing.T) {
	l := newLimiter(t, Config{ProxyMaxInFlight: 8, ProxyMaxInFlightPerDevice: 1})
	if _, err := l.AdmitDevice("acme", []byte("a")); err != nil {
		t.Fatal(err)
	}
	_, _ = l.AdmitDevice("acme", []byte("a"))
	expectMetrics(t, l, map[string]float64{
		"attestd_limit_proxy_max_in_flight_per_device":          1,
		"attestd_limit_proxy_devices":                           1,
		"attestd_limit_refused_total{limit=proxy_device}":       1,
		"attestd_limit_refused_total{limit=proxy_device_table}": 0,
	})
}

func BenchmarkAdmitDevice(b *testing.B) {
	l := newLimiter(b, Config{ProxyMaxInFlightPerDevice: 1 << 20})
	did := []byte("0123456789012345678901234567890123456789012")
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			r, _ := l.AdmitDevice("acme", did)
			r()
		}
	})
}
