package limit

import (
	"errors"
	"fmt"
	"hash/maphash"
	"math"
	"net/netip"
	"sync/atomic"
	"time"

	"github.com/attestd/attestd/internal/apierr"
)

// Defaults of Config, filled in by New for zero fields.
const (
	DefaultTableSize = 1 << 16
	// DefaultIPv6Prefix: an IPv6 client is one /64, the smallest block a
	// site is given, so that one host cannot pose as 2^64 sources.
	DefaultIPv6Prefix = 64
	// MaxRetryAfter caps Retry-After, in seconds.
	MaxRetryAfter = 3600
)

// Config sets the limits. A zero rate or bound turns that limit off.
type Config struct {
	// MaxInFlight bounds the API's requests being served at once; past it
	// AdmitRequest answers overloaded. 0: no bound.
	MaxInFlight int
	// ProxyMaxInFlight bounds the proxied requests (the secrets proxy)
	// being served at once, apart from MaxInFlight: past it AdmitProxied
	// answers overloaded. A proxied request may hold its place for as long
	// as the proxy's stream timeout (a slow upload), so the two kinds are
	// counted apart: a token holder's uploads cannot take the places of
	// challenges and attests, nor these the proxy's. 0: no bound.
	ProxyMaxInFlight int
	// ProxyMaxInFlightPerDevice bounds the proxied requests in flight of
	// one device (a token's did within its account), within
	// ProxyMaxInFlight: past it AdmitDevice answers rate_limited, so that
	// one token cannot take every place of the proxy's pool. 0: no bound.
	ProxyMaxInFlightPerDevice int
	// MaxQueueDelay bounds the time requests wait for a CPU: while the
	// scheduler's queueing delay exceeds it, AdmitRequest refuses a share
	// of new requests, API and proxied (see Run). 0: off. A few times the slowest request's
	// own time is a good value (20 ms for an attest of ~0.2 ms).
	MaxQueueDelay time.Duration
	// QueueInterval is how often Run samples the delay (default 50 ms).
	QueueInterval time.Duration
	// ChallengeRate is the sustained challenges per second per client IP;
	// ChallengeBurst how many may come at once (at least 1).
	ChallengeRate  float64
	ChallengeBurst int
	// AttestRate is the sustained attests per second per device key;
	// AttestBurst how many may come at once (at least 1).
	AttestRate  float64
	AttestBurst int
	// TableSize is the number of sources each rate table remembers
	// (rounded up to a power of two, at least 64). Default 65 536: 1 MiB.
	TableSize int
	// IPv6Prefix is the prefix length that identifies an IPv6 client
	// (default 64; 128 counts each address alone).
	IPv6Prefix int
	// Seed keys the table hash; the zero value picks a random one.
	Seed maphash.Seed
}

// Limiter applies a Config. Build it with New.
type Limiter struct {
	cfg       Config
	api       pool // the API's requests (AdmitRequest)
	proxied   pool // proxied requests (AdmitProxied)
	challenge *table
	attest    *table
	devices   *devices // nil: no per-device bound
	retry     [MaxRetryAfter + 1]*apierr.Error
	prefix6   int

	shedP      atomic.Uint64 // float64 bits: the share of requests shed for queueing delay
	queueDelay atomic.Int64  // the last interval's queueing delay, ns

	shed                 atomic.Uint64
	challengeLimited     atomic.Uint64
	attestLimited        atomic.Uint64
	deviceLimited        atomic.Uint64
	deviceTableFull      atomic.Uint64
	challengeTableEvicts atomic.Uint64
	attestTableEvicts    atomic.Uint64
}

// ErrConfig: New got an invalid Config.
var ErrConfig = errors.New("limit: invalid configuration")

// New returns a Limiter for cfg.
func New(cfg Config) (*Limiter, error) {
	if cfg.MaxInFlight < 0 || cfg.ProxyMaxInFlight < 0 || cfg.ProxyMaxInFlightPerDevice < 0 || cfg.MaxQueueDelay < 0 || cfg.QueueInterval < 0 || cfg.ChallengeRate < 0 || cfg.AttestRate < 0 || cfg.ChallengeBurst < 0 || cfg.AttestBurst < 0 ||
		math.IsNaN(cfg.ChallengeRate) || math.IsNaN(cfg.AttestRate) || math.IsInf(cfg.ChallengeRate, 0) || math.IsInf(cfg.AttestRate, 0) {
		return nil, fmt.Errorf("%w: negative or non-finite limit", ErrConfig)
	}
	if cfg.QueueInterval == 0 {
		cfg.QueueInterval = DefaultQueueInterval
	}
	if cfg.TableSize == 0 {
		cfg.TableSize = DefaultTableSize
	}
	if cfg.TableSize < 0 || cfg.TableSize > 1<<26 {
		return nil, fmt.Errorf("%w: TableSize %d outside 1..%d", ErrConfig, cfg.TableSize, 1<<26)
	}
	if cfg.IPv6Prefix == 0 {
		cfg.IPv6Prefix = DefaultIPv6Prefix
	}
	if cfg.IPv6Prefix < 1 || cfg.IPv6Prefix > 128 {
		return nil, fmt.Errorf("%w: IPv6Prefix %d outside 1..128", ErrConfig, cfg.IPv6Prefix)
	}
	if cfg.ChallengeRate > 0 {
		cfg.ChallengeBurst = max(cfg.ChallengeBurst, 1)
	}
	if cfg.AttestRate > 0 {
		cfg.AttestBurst = max(cfg.AttestBurst, 1)
	}
	if cfg.Seed == (maphash.Seed{}) {
		cfg.Seed = maphash.MakeSeed()
	}
	l := &Limiter{cfg: cfg, prefix6: cfg.IPv6Prefix}
	l.api.init(cfg.MaxInFlight)
	l.proxied.init(cfg.ProxyMaxInFlight)
	if cfg.ChallengeRate > 0 {
		l.challenge = newTable(cfg.TableSize, cfg.ChallengeRate, cfg.ChallengeBurst)
	}
	if cfg.AttestRate > 0 {
		l.attest = newTable(cfg.TableSize, cfg.AttestRate, cfg.AttestBurst)
	}
	if cfg.ProxyMaxInFlightPerDevice > 0 {
		l.devices = newDevices(devSlotsFor(cfg.ProxyMaxInFlight), cfg.ProxyMaxInFlightPerDevice)
	}
	// One error per Retry-After value, made once: refusing must not
	// allocate, since refusals are what an attack is made of.
	for s := 1; s <= MaxRetryAfter; s++ {
		e := *apierr.ErrRateLimited
		e.RetryAfter = s
		l.retry[s] = &e
	}
	return l, nil
}

// Config returns the configuration in force (defaults filled in).
func (l *Limiter) Config() Config { return l.cfg }

// AdmitRequest admits one of the API's requests within Config.MaxInFlight,
// unless the node is shedding for queueing delay (see Run). On success the
// caller must call release exactly once when the answer is written; it
// never allocates. A refusal is apierr.ErrOverloaded (Retry-After 1 s),
// with a release that does nothing. Call it first of all, before reading
// anything of the request beyond what the transport already did.
func (l *Limiter) AdmitRequest() (release func(), err error) {
	if l == nil {
		return nop, nil
	}
	return l.admit(&l.api)
}

// AdmitProxied admits one proxied request within Config.ProxyMaxInFlight,
// a bound of its own: proxied requests never take the API's places, nor
// the API's requests theirs. The CPU is shared, so the shedding for
// queueing delay applies to it as to AdmitRequest. Its contract is
// AdmitRequest's: release exactly once; a refusal is apierr.ErrOverloaded
// (Retry-After 1 s) with a release that does nothing; it never allocates.
func (l *Limiter) AdmitProxied() (release func(), err error) {
	if l == nil {
		return nop, nil
	}
	return l.admit(&l.proxied)
}

// admit takes a place of p, one of l's pools, unless the node is
// shedding.
func (l *Limiter) admit(p *pool) (func(), error) {
	if l.shedding() {
		l.shed.Add(1)
		return nop, errShed
	}
	return p.take()
}

// InFlight returns the number of the API's requests admitted and not yet
// released.
func (l *Limiter) InFlight() int64 {
	if l == nil {
		return 0
	}
	return l.api.held.Load()
}

// ProxyInFlight returns the number of proxied requests admitted and not
// yet released.
func (l *Limiter) ProxyInFlight() int64 {
	if l == nil {
		return 0
	}
	return l.proxied.held.Load()
}

// AllowChallenge takes one challenge from ip's bucket at now, or returns a
// rate_limited error whose RetryAfter says when the next will be allowed.
// An IPv4-mapped IPv6 address counts as its IPv4 address; an IPv6 address
// counts as its Config.IPv6Prefix. The zero Addr is one source.
func (l *Limiter) AllowChallenge(ip netip.Addr, now time.Time) error {
	if l == nil || l.challenge == nil {
		return nil
	}
	ip = ip.Unmap()
	if ip.Is6() && l.prefix6 < 128 {
		if p, err := ip.Prefix(l.prefix6); err == nil {
			ip = p.Addr()
		}
	}
	b := ip.As16()
	if ip.Is4() {
		b[0] = 4 // keep 1.2.3.4 apart from ::1.2.3.4
	}
	wait, evicted := l.challenge.take(maphash.Bytes(l.cfg.Seed, b[:]), now.UnixNano())
	if evicted {
		l.challengeTableEvicts.Add(1)
	}
	if wait > 0 {
		l.challengeLimited.Add(1)
		return l.retryError(wait)
	}
	return nil
}

// AllowAttest takes one attest from the bucket of a device key at now, or
// returns a rate_limited error. deviceKey is the decoded device.key: the
// 65-byte uncompressed point, or its SPKI DER (which counts as the same
// key, whose last 65 bytes it is). Call it only for a request whose
// signature verified with that key (PROTOCOL.md §2: a forgery must not
// spend the device's allowance), before the nonce is used.
func (l *Limiter) AllowAttest(deviceKey []byte, now time.Time) error {
	if l == nil || l.attest == nil {
		return nil
	}
	if len(deviceKey) > pointSize {
		deviceKey = deviceKey[len(deviceKey)-pointSize:]
	}
	wait, evicted := l.attest.take(maphash.Bytes(l.cfg.Seed, deviceKey), now.UnixNano())
	if evicted {
		l.attestTableEvicts.Add(1)
	}
	if wait > 0 {
		l.attestLimited.Add(1)
		return l.retryError(wait)
	}
	return nil
}

// pointSize is the size of an uncompressed P-256 point.
const pointSize = 65

// retryError is the rate_limited error for a wait, rounded up to whole
// seconds (at least 1, at most MaxRetryAfter).
func (l *Limiter) retryError(wait time.Duration) error {
	s := int((wait + time.Second - 1) / time.Second)
	s = min(max(s, 1), MaxRetryAfter)
	return l.retry[s]
}

// Stats are the limiter's counters since New.
type Stats struct {
	InFlight        int64  // the API's requests in flight
	Overloaded      uint64 // the API's requests refused by MaxInFlight
	ProxyInFlight   int64  // proxied requests in flight
	ProxyOverloaded uint64 // proxied requests refused by ProxyMaxInFlight
	// ProxyDeviceLimited: proxied requests refused by
	// ProxyMaxInFlightPerDevice (rate_limited); ProxyDeviceTableFull: by a
	// full set of the device table (overloaded).
	ProxyDeviceLimited        uint64
	ProxyDeviceTableFull      uint64
	ProxyDevices              int64  // devices with proxied requests in flight (counted with a per-device bound only)
	Shed                      uint64 // refused for queueing delay
	ShedShare                 float64
	QueueDelay                time.Duration // the scheduler's queueing delay (p90) over the last interval sampled
	MaxQueueDelay             time.Duration
	ChallengeLimited          uint64 // challenges refused by the per-IP limit
	AttestLimited             uint64 // attests refused by the per-device limit
	ChallengeEvicted          uint64 // sources forgotten by the challenge table to make room
	AttestEvicted             uint64 // sources forgotten by the attest table to make room
	TableSize                 int    // entries of each table
	TableBytes                int    // memory held by the tables (the device table's included), fixed at New
	MaxInFlight               int
	ProxyMaxInFlight          int
	ProxyMaxInFlightPerDevice int
	ChallengeRate             float64
	ChallengeBurst            int
	AttestRate                float64
	AttestBurst               int
}

// Stats returns the counters and the limits in force.
func (l *Limiter) Stats() Stats {
	if l == nil {
		return Stats{}
	}
	s := Stats{
		InFlight: l.api.held.Load(), Overloaded: l.api.refused.Load(),
		ProxyInFlight: l.proxied.held.Load(), ProxyOverloaded: l.proxied.refused.Load(), Shed: l.shed.Load(), ShedShare: l.ShedShare(),
		QueueDelay: time.Duration(l.queueDelay.Load()), MaxQueueDelay: l.cfg.MaxQueueDelay,
		ChallengeLimited: l.challengeLimited.Load(), AttestLimited: l.attestLimited.Load(),
		ChallengeEvicted: l.challengeTableEvicts.Load(), AttestEvicted: l.attestTableEvicts.Load(),
		MaxInFlight: l.cfg.MaxInFlight, ProxyMaxInFlight: l.cfg.ProxyMaxInFlight, ChallengeRate: l.cfg.ChallengeRate, ChallengeBurst: l.cfg.ChallengeBurst,
		AttestRate: l.cfg.AttestRate, AttestBurst: l.cfg.AttestBurst,
		ProxyDeviceLimited: l.deviceLimited.Load(), ProxyDeviceTableFull: l.deviceTableFull.Load(),
		ProxyMaxInFlightPerDevice: l.cfg.ProxyMaxInFlightPerDevice,
	}
	if l.devices != nil {
		_, s.ProxyDevices = l.devices.inFlight()
		s.TableBytes += l.devices.bytes()
	}
	for _, t := range []*table{l.challenge, l.attest} {
		if t != nil {
			s.TableSize = len(t.slots)
			s.TableBytes += t.bytes()
		}
	}
	return s
}
