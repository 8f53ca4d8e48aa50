package limit

import (
	"encoding/binary"
	"hash/maphash"
	"math/bits"
	"unsafe"

	"github.com/attestd/attestd/internal/apierr"
)

// The per-device share of the proxied requests in flight.
//
// One token holder's slow uploads could otherwise take every place of the
// proxy's pool (ProxyMaxInFlight) and leave every other app and account of
// the node overloaded. So once a proxied request's token has verified, its
// device (the token's did, within its account: aud) takes one of at most
// ProxyMaxInFlightPerDevice places of its own, held exactly as long as its
// place in the pool.
//
// The counts live in a fixed-size, set-associative table (devWays slots a
// set, a set picked by a seeded hash of account and did), allocated once
// by New. A slot holds one device while that device has a request in
// flight, and is never taken from it then: no newcomer can evict a live
// count, so nobody can reset another device's count (nor their own) to
// get past the bound. A slot whose count is back to 0 is free. When every
// slot of a newcomer's set is held, the newcomer is refused overloaded
// (fail closed): nothing is counted that could not be bounded. Every held
// slot holds a request that holds a place of the pool, so the table holds
// at most ProxyMaxInFlight devices; it has devSlotsPerPlace slots per
// place of the pool, so that a set is full only by a rare accident of the
// hash even with the pool full (expected full sets with the pool full of
// distinct devices: about 1 in 1000 tables), and the seed keeps an
// attacker from choosing which set their devices fall in.

// devWays is the associativity of the device table.
const devWays = 8

// devSlotsPerPlace is the device table's slots per place of the pool
// (ProxyMaxInFlight); devSlotsUnbounded its slots when the pool has no
// bound, and devSlotsMax the most it ever has.
const (
	devSlotsPerPlace  = 8
	devSlotsUnbounded = 8 << 10
	devSlotsMax       = 1 << 18
)

// devSlot is one device's count of proxied requests in flight: the hash
// that names it, meaningful only while held > 0.
type devSlot struct {
	key  uint64
	held int64
}

// devices is the per-device table. Its memory is allocated once, by
// newDevices; take and put never allocate.
type devices struct {
	slots []devSlot
	rel   []func() // rel[i] gives one place of slots[i] back; made once
	mask  uint64   // sets - 1
	max   int64    // places per device
	locks [stripes]paddedMutex
}

// devSlotsFor is the size of the device table for a pool of bound places
// (0: none): a power of two, 64 to devSlotsMax.
func devSlotsFor(pool int) int {
	n := devSlotsUnbounded
	if pool > 0 {
		n = min(pool, devSlotsMax/devSlotsPerPlace) * devSlotsPerPlace
	}
	n = max(n, 64)
	return min(1<<bits.Len(uint(n-1)), devSlotsMax)
}

func newDevices(size int, perDevice int) *devices {
	d := &devices{
		slots: make([]devSlot, size),
		rel:   make([]func(), size),
		mask:  uint64(size/devWays - 1),
		max:   int64(perDevice),
	}
	for i := range d.rel {
		d.rel[i] = func() { d.put(i) }
	}
	return d
}

// bytes is the memory the table holds: its slots, and one release func
// (a pointer and a closure of two words) per slot.
func (d *devices) bytes() int {
	return len(d.slots) * int(unsafe.Sizeof(devSlot{})+unsafe.Sizeof(func() {})+2*unsafe.Sizeof(uintptr(0)))
}

// devResult is take's outcome.
type devResult uint8

const (
	devAdmitted  devResult = iota
	devOverShare           // the device holds its max places
	devTableFull           // every slot of the device's set is held by others
)

// take takes one place of the device h. On devAdmitted the caller must call
// release exactly once; otherwise release is nil and nothing was taken.
func (d *devices) take(h uint64) (release func(), r devResult) {
	set := h & d.mask
	mu := &d.locks[set%stripes]
	mu.Lock()
	defer mu.Unlock()
	base := int(set) * devWays
	free := -1
	for i := base; i < base+devWays; i++ {
		s := &d.slots[i]
		switch {
		case s.held > 0 && s.key == h:
			if s.held >= d.max {
				return nil, devOverShare
			}
			s.held++
			return d.rel[i], devAdmitted
		case s.held == 0 && free < 0:
			free = i
		}
	}
	if free < 0 {
		return nil, devTableFull
	}
	d.slots[free] = devSlot{key: h, held: 1}
	return d.rel[free], devAdmitted
}

// put gives one place of slot i back.
func (d *devices) put(i int) {
	mu := &d.locks[(uint64(i)/devWays)%stripes]
	mu.Lock()
	d.slots[i].held--
	mu.Unlock()
}

// inFlight is the number of places held, and of devices holding them.
func (d *devices) inFlight() (places, devs int64) {
	for set := 0; set < len(d.slots)/devWays; set++ {
		mu := &d.locks[set%stripes]
		mu.Lock()
		for _, s := range d.slots[set*devWays : set*devWays+devWays] {
			if s.held > 0 {
				places += s.held
				devs++
			}
		}
		mu.Unlock()
	}
	return places, devs
}

// AdmitDevice takes one of the places of a device among the proxied
// requests in flight (Config.ProxyMaxInFlightPerDevice): account is the
// token's aud, device its did (an empty did is one device of its
// account). Call it once the request's token has verified (the did of an
// unverified token is anybody's to name), after AdmitProxied, and release
// the place when that of AdmitProxied is released; on success release
// exactly once. A device that holds all its places is refused
// rate_limited (429, Retry-After 1 s); one whose set of the table is full
// of other devices' counts, overloaded (503, Retry-After 1 s): either way
// with a release that does nothing. It never allocates.
func (l *Limiter) AdmitDevice(account string, device []byte) (release func(), err error) {
	if l == nil || l.devices == nil {
		return nop, nil
	}
	release, r := l.devices.take(l.deviceHash(account, device))
	switch r {
	case devOverShare:
		l.deviceLimited.Add(1)
		return nop, l.retry[1]
	case devTableFull:
		l.deviceTableFull.Add(1)
		return nop, apierr.ErrOverloaded
	}
	return release, nil
}

// deviceHash is the seeded hash of (account, device), the account's length
// first so that no two pairs write the same bytes.
func (l *Limiter) deviceHash(account string, device []byte) uint64 {
	var h maphash.Hash
	h.SetSeed(l.cfg.Seed)
	var n [8]byte
	binary.LittleEndian.PutUint64(n[:], uint64(len(account)))
	_, _ = h.Write(n[:])
	_, _ = h.WriteString(account)
	_, _ = h.Write(device)
	return h.Sum64()
}

// DevicesInFlight returns the proxied requests in flight counted per
// device and the number of devices holding them (0, 0 without a
// per-device bound).
func (l *Limiter) DevicesInFlight() (places, devices int64) {
	if l == nil || l.devices == nil {
		return 0, 0
	}
	return l.devices.inFlight()
}
