package attest

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/attestd/attestd/crypto/nonce"
	"github.com/attestd/attestd/crypto/token"
	"github.com/attestd/attestd/internal/apierr"
	"github.com/attestd/attestd/internal/registry"
	"github.com/attestd/attestd/internal/replay"
)

// Registry is what the core reads of the registry. *registry.Registry
// implements it.
type Registry interface {
	Nonces() (*nonce.Keyring, error)
	App(id []byte) (*registry.App, bool, error)
	Account(id string) (*registry.Account, bool, error)
	Banned(did string) bool
	// UnknownDecoy signs the decoy for app_unknown (HS256).
	UnknownDecoy() (*token.Signer, error)
	// DebugToken returns the stored debug token tok is (live or not), or
	// false (§11). Its work must not depend on how close tok is to a
	// stored token.
	DebugToken(tok []byte) (registry.DebugToken, bool, error)
}

// Replay is the per-node single-use set of nonces (*replay.Set).
type Replay interface {
	// Seen reports whether id was used (and has not expired).
	Seen(id [nonce.IDSize]byte, expiresAt int64) bool
	// Use marks id used under class c (the answer's: Decision.ReplayClass);
	// fresh is false when it already was, under any class. Uses of one id
	// must be atomic across classes. replay.ErrFull: c's budget is spent.
	Use(id [nonce.IDSize]byte, expiresAt int64, now time.Time, c replay.Class) (fresh bool, err error)
	// Claim marks id as being decided until Release (Seen then reports
	// it); false when it is used or already claimed.
	Claim(id [nonce.IDSize]byte, expiresAt int64) bool
	Release(id [nonce.IDSize]byte)
}

// DeviceLimits rate-limits attests per device key (internal/limit
// implements it). The core asks only for requests whose signature verified
// (PROTOCOL.md §2, 1.1: someone who knows a device's public key but not its
// private key cannot spend its allowance), before the verdict and before
// the nonce is used (a 429 uses up no nonce).
type DeviceLimits interface {
	AllowAttest(deviceKey []byte, now time.Time) error
}

// Observer learns what the core decided; metrics implement it. Methods are
// called on the request path and must be fast and safe for concurrent use.
type Observer interface {
	Verdict(o Outcome)
	Challenge()
}

// Outcome is what an Observer learns of one verdict. Its slices and
// strings are only valid during the call; none of them is secret (a debug
// token is never in it, only its name).
type Outcome struct {
	Passed bool
	// Reasons of a failed verdict, in §2's order.
	Reasons []string
	// Monitor: the app is in monitor mode (§11): a failed verdict was
	// signed with the account's key. Never set for app_unknown.
	Monitor bool
	// App is the registered app ("" when the app is unknown); Device is
	// the device's did.
	App, Device string
	// Debug is what became of the request's debug token (DebugNone when
	// it carried none); DebugName the stored token's name when one was
	// found.
	Debug     DebugOutcome
	DebugName string
}

// RequestObserver is an Observer that also learns which request each
// attest outcome belongs to: the daemon's log implements it, so that its
// lines about a request carry the request id that the transport put in
// the request's context. When Config.Observer implements it, the core
// calls AttestVerdict in place of Verdict, and AttestRefused for each
// attest it answers with an error. ctx is the one given to AppendAttest;
// the Outcome's contents and err are only valid during the call. Passing ctx costs the
// request path nothing: an implementation looks the id up only when it
// uses it (a log line).
type RequestObserver interface {
	Observer
	// AttestVerdict is Verdict for the attest request of ctx.
	AttestVerdict(ctx context.Context, o Outcome)
	// AttestRefused: the attest request of ctx is answered with err, a
	// protocol error classified for apierr.From (bad request, nonce,
	// signature, rate limit, overload) or an internal one.
	AttestRefused(ctx context.Context, err error)
}

// Config is the core's typed configuration; New fills defaults.
type Config struct {
	Issuer   string
	NonceTTL time.Duration
	Now      func() time.Time
	Rand     io.Reader
	Registry Registry
	Replay   Replay
	Platform Platform
	Observer Observer
	// Limits, when set, bounds attests per device key.
	Limits DeviceLimits
}

// Defaults of Config.
const (
	DefaultIssuer   = "attestd"
	DefaultNonceTTL = 60 * time.Second
	MinNonceTTL     = 10 * time.Second
	MaxNonceTTL     = 300 * time.Second
	// UnknownTTL is the decoy token lifetime for app_unknown (§3).
	UnknownTTL = 300
	// UnknownAudience is the decoy's aud for app_unknown (§3).
	UnknownAudience = "unknown"
)

// Edge is the core. It is safe for concurrent use.
type Edge struct {
	cfg  Config
	reqs sync.Pool
	// byRequest is cfg.Observer when it is a RequestObserver, else nil.
	byRequest RequestObserver
}

// New returns the core, or an error naming a bad setting.
func New(cfg Config) (*Edge, error) {
	if cfg.Issuer == "" {
		cfg.Issuer = DefaultIssuer
	}
	if cfg.NonceTTL == 0 {
		cfg.NonceTTL = DefaultNonceTTL
	}
	if cfg.NonceTTL < MinNonceTTL || cfg.NonceTTL > MaxNonceTTL {
		return nil, fmt.Errorf("attest: nonce TTL %v outside %v-%v", cfg.NonceTTL, MinNonceTTL, MaxNonceTTL)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Rand == nil {
		cfg.Rand = rand.Reader
	}
	if cfg.Registry == nil || cfg.Replay == nil {
		return nil, errors.New("attest: a registry and a replay set are required")
	}
	if cfg.Platform == nil {
		cfg.Platform = noPlatform{}
	}
	if cfg.Observer == nil {
		cfg.Observer = nopObserver{}
	}
	e := &Edge{cfg: cfg}
	e.byRequest, _ = cfg.Observer.(RequestObserver)
	e.reqs.New = func() any { return new(work) }
	return e, nil
}

type nopObserver struct{}

func (nopObserver) Verdict(Outcome) {}
func (nopObserver) Challenge()      {}

// AppendChallenge issues a nonce and appends the answer of PROTOCOL.md §1
// ({"nonce": …, "expires_at": …}) to dst.
func (e *Edge) AppendChallenge(ctx context.Context, dst []byte) ([]byte, error) {
	keys, err := e.cfg.Registry.Nonces()
	if err != nil {
		return dst, fmt.Errorf("attest: challenge: %w", err)
	}
	var buf [160]byte
	n, exp, err := keys.Issue(buf[:0], e.cfg.Now(), e.cfg.NonceTTL, e.cfg.Rand)
	if err != nil {
		return dst, fmt.Errorf("attest: challenge: %w", err)
	}
	e.cfg.Observer.Challenge()
	dst = append(dst, `{"nonce":"`...)
	dst = append(dst, n...) // printable ASCII without quotes or backslashes
	dst = append(dst, `","expires_at":`...)
	dst = appendInt(dst, exp)
	return append(dst, '}'), nil
}

// IsJSON reports whether a Content-Type value names application/json
// (parameters such as charset allowed, case-insensitive).
func IsJSON(ct []byte) bool {
	const want = "application/json"
	if len(ct) < len(want) {
		return false
	}
	for i := 0; i < len(want); i++ {
		c := ct[i]
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != want[i] {
			return false
		}
	}
	for _, c := range ct[len(want):] {
		if c == ';' {
			return true
		}
		if c != ' ' && c != '\t' {
			return false
		}
	}
	return true
}

func appendInt(dst []byte, v int64) []byte {
	if v < 0 {
		dst = append(dst, '-')
		v = -v
	}
	var b [20]byte
	i := len(b)
	for {
		i--
		b[i] = byte('0' + v%10)
		v /= 10
		if v == 0 {
			break
		}
	}
	return append(dst, b[i:]...)
}

// errClass wraps cause in a public error class.
func errClass(pub *apierr.Error, cause error) error { return apierr.Wrap(pub, cause) }
