package attest

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/attestd/attestd/crypto/nonce"
	"github.com/attestd/attestd/crypto/secret"
	"github.com/attestd/attestd/crypto/token"
	"github.com/attestd/attestd/internal/apierr"
	"github.com/attestd/attestd/internal/model"
	"github.com/attestd/attestd/internal/registry"
	"github.com/attestd/attestd/internal/replay"
)

// The rig is the core over fakes of its interfaces (Registry, Platform,
// DeviceLimits) and a spy around the real replay set: no store, no
// transport, a clock the test moves.

const (
	rigApp     = "com.example.rig"
	rigAccount = "rig"
	rigVersion = "1.0"
)

var (
	rigSigner = sha256.Sum256([]byte("signing certificate"))
	rigCode   = sha256.Sum256([]byte("code of 1.0"))
	rigHSKey  = []byte(strings.Repeat("k", 32))
)

// fakeRegistry is a Registry of one account and its apps.
type fakeRegistry struct {
	nonces   *nonce.Keyring
	apps     map[string]*registry.App
	account  *registry.Account
	banned   map[string]bool
	decoy    *token.Signer
	appErr   error // App fails with it when set
	appCalls atomic.Int32
	// debug maps debug tokens to their records; debugCalls counts lookups.
	debug      map[string]registry.DebugToken
	debugErr   error
	debugCalls atomic.Int32
}

func (f *fakeRegistry) DebugToken(tok []byte) (registry.DebugToken, bool, error) {
	f.debugCalls.Add(1)
	if f.debugErr != nil {
		return registry.DebugToken{}, false, f.debugErr
	}
	t, ok := f.debug[string(tok)]
	return t, ok, nil
}

func (f *fakeRegistry) Nonces() (*nonce.Keyring, error) { return f.nonces, nil }

func (f *fakeRegistry) App(id []byte) (*registry.App, bool, error) {
	f.appCalls.Add(1)
	if f.appErr != nil {
		return nil, false, f.appErr
	}
	a, ok := f.apps[string(id)]
	return a, ok, nil
}

func (f *fakeRegistry) Account(id string) (*registry.Account, bool, error) {
	if id != f.account.ID {
		return nil, false, nil
	}
	return f.account, true, nil
}

func (f *fakeRegistry) Banned(did string) bool { return f.banned[did] }

func (f *fakeRegistry) UnknownDecoy() (*token.Signer, error) { return f.decoy, nil }

// fakePlatform answers every check with result and counts the checks.
type fakePlatform struct {
	result PlatformResult
	calls  atomic.Int32
}

func (p *fakePlatform) Check(context.Context, PlatformInput) PlatformResult {
	p.calls.Add(1)
	return p.result
}

// spyReplay is the real replay set, counting the uses by class.
type spyReplay struct {
	*replay.Set
	mu   sync.Mutex
	uses []replay.Class
}

func (s *spyReplay) Use(id [nonce.IDSize]byte, exp int64, now time.Time, c replay.Class) (bool, error) {
	s.mu.Lock()
	s.uses = append(s.uses, c)
	s.mu.Unlock()
	return s.Set.Use(id, exp, now, c)
}

func (s *spyReplay) useCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.uses)
}

// fakeLimits counts the attests it is asked about and refuses them all
// when refuse is set.
type fakeLimits struct {
	calls  atomic.Int32
	refuse bool
}

func (l *fakeLimits) AllowAttest([]byte, time.Time) error {
	l.calls.Add(1)
	if l.refuse {
		return apierr.ErrRateLimited
	}
	return nil
}

// observed records what the core told its observer.
type observed struct {
	mu       sync.Mutex
	verdicts [][]string
	outcomes []Outcome // copies, Reasons included
}

func (o *observed) Verdict(v Outcome) {
	o.mu.Lock()
	defer o.mu.Unlock()
	v.Reasons = append([]string{}, v.Reasons...)
	o.verdicts = append(o.verdicts, v.Reasons)
	o.outcomes = append(o.outcomes, v)
}

func (o *observed) Challenge() {}

func (o *observed) count() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return len(o.verdicts)
}

type rig struct {
	t        testing.TB
	edge     *Edge
	reg      *fakeRegistry
	replay   *spyReplay
	platform *fakePlatform
	obs      *observed
	now      atomic.Int64 // Unix ns
}

type rigOptions struct {
	replayMax int
	limits    DeviceLimits
	policy    model.Policy
}

func newRig(t testing.TB, o rigOptions) *rig {
	t.Helper()
	kr, err := nonce.NewKeyring("n1", map[string]secret.Value{"n1": secret.New([]byte(strings.Repeat("n", nonce.KeySize)))})
	if err != nil {
		t.Fatal(err)
	}
	signer, err := token.NewSigner("k1", token.HS256, secret.New(rigHSKey))
	if err != nil {
		t.Fatal(err)
	}
	decoy, err := signer.Decoy()
	if err != nil {
		t.Fatal(err)
	}
	unknown, err := token.NewSigner("u1", token.HS256, secret.New([]byte(strings.Repeat("u", 32))))
	if err != nil {
		t.Fatal(err)
	}
	app := &registry.App{ID: rigApp, Account: rigAccount, Platform: "android", Signers: [][32]byte{rigSigner},
		Versions: map[string][32]byte{rigVersion: rigCode}, Policy: o.policy, Monitor: o.policy.Monitor()}
	r := &rig{t: t,
		reg: &fakeRegistry{nonces: kr, apps: map[string]*registry.App{rigApp: app}, banned: map[string]bool{}, decoy: unknown,
			debug:   map[string]registry.DebugToken{},
			account: &registry.Account{ID: rigAccount, TTL: 300, Annotate: true, Signer: signer, Decoy: decoy, PinsJSON: []byte(`{}`)}},
		platform: &fakePlatform{result: PlatformResult{Verified: true}},
		obs:      &observed{},
	}
	if o.replayMax == 0 {
		o.replayMax = 1000
	}
	set, err := replay.New(replay.Config{MaxEntries: o.replayMax})
	if err != nil {
		t.Fatal(err)
	}
	r.replay = &spyReplay{Set: set}
	r.now.Store(time.Unix(1_900_000_000, 0).UnixNano())
	r.edge, err = New(Config{Now: r.clock, Registry: r.reg, Replay: r.replay, Platform: r.platform, Observer: r.obs, Limits: o.limits})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func (r *rig) clock() time.Time { return time.Unix(0, r.now.Load()) }

func (r *rig) advance(d time.Duration) { r.now.Add(int64(d)) }

// nonce issues a nonce as /v1/challenge would.
func (r *rig) nonce() string {
	r.t.Helper()
	var a struct{ Nonce string }
	out, err := r.edge.AppendChallenge(context.Background(), nil)
	if err != nil {
		r.t.Fatal(err)
	}
	if err := json.Unmarshal(out, &a); err != nil {
		r.t.Fatal(err)
	}
	return a.Nonce
}

// device is a device key.
type device struct {
	key  *ecdsa.PrivateKey
	spki string // b64u SPKI DER
}

func newDevice(t testing.TB) *device {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	return &device{key: k, spki: base64.RawURLEncoding.EncodeToString(der)}
}

// sign is the Attest-Signature of body by d.
func (d *device) sign(t testing.TB, body []byte) []byte {
	t.Helper()
	h := sha256.Sum256(body)
	sig, err := ecdsa.SignASN1(rand.Reader, d.key, h[:])
	if err != nil {
		t.Fatal(err)
	}
	return []byte(base64.RawURLEncoding.EncodeToString(sig))
}

// claim is what a request body says; the zero value (with a nonce and a
// device) is a genuine request of the rig's app.
type claim struct {
	nonce       string
	app         string
	platform    string
	signer      *[32]byte
	version     string
	code        *[32]byte // the digest the measurement is made with
	integrity   string    // the device.integrity object, "" for none
	pa          string    // platform_attestation, "" for none
	wantSecrets bool
	debugToken  string // the debug_token member's JSON value, "" for none
	pop         bool   // "pop": true (§12)
}

func (r *rig) body(d *device, c claim) []byte {
	r.t.Helper()
	if c.app == "" {
		c.app = rigApp
	}
	if c.platform == "" {
		c.platform = "android"
	}
	if c.signer == nil {
		c.signer = &rigSigner
	}
	if c.version == "" {
		c.version = rigVersion
	}
	if c.code == nil {
		c.code = &rigCode
	}
	mac := hmac.New(sha256.New, c.code[:])
	mac.Write([]byte(c.nonce))
	b64u := base64.RawURLEncoding.EncodeToString
	s := `{"nonce":"` + c.nonce + `","app":{"id":"` + c.app + `","version":"` + c.version + `","platform":"` + c.platform +
		`","signer":"` + b64u(c.signer[:]) + `","measurement":"` + b64u(mac.Sum(nil)) + `"},"device":{"key":"` + d.spki + `"`
	if c.integrity != "" {
		s += `,"integrity":` + c.integrity
	}
	s += `}`
	if c.pa != "" {
		s += `,"platform_attestation":` + c.pa
	}
	if c.wantSecrets {
		s += `,"want_secrets":true`
	}
	if c.debugToken != "" {
		s += `,"debug_token":` + c.debugToken
	}
	if c.pop {
		s += `,"pop":true`
	}
	return []byte(s + `}`)
}

// attest sends body signed with sig; it returns the answer or the error.
func (r *rig) attest(body, sig []byte) ([]byte, error) {
	return r.edge.AppendAttest(context.Background(), nil, Input{ContentType: []byte("application/json"), Body: body, Signature: sig})
}

// genuine sends a genuine request of device d with a new nonce.
func (r *rig) genuine(d *device, c claim) ([]byte, error) {
	r.t.Helper()
	c.nonce = r.nonce()
	b := r.body(d, c)
	return r.attest(b, d.sign(r.t, b))
}

// verdictOf decodes an answer: whether its token verifies with the
// account's real key (an independent JWT library checks it), and its arc.
func (r *rig) verdictOf(answer []byte) (real bool, arc string) {
	r.t.Helper()
	var a struct{ Token string }
	if err := json.Unmarshal(answer, &a); err != nil || a.Token == "" {
		r.t.Fatalf("answer %s: %v", answer, err)
	}
	var cl struct {
		jwt.RegisteredClaims
		Arc *string `json:"arc"`
	}
	p := jwt.NewParser(jwt.WithValidMethods([]string{"HS256"}), jwt.WithTimeFunc(r.clock))
	_, err := p.ParseWithClaims(a.Token, &cl, func(*jwt.Token) (any, error) { return rigHSKey, nil })
	real = err == nil
	if !real && !errors.Is(err, jwt.ErrTokenSignatureInvalid) {
		r.t.Fatalf("token: %v", err)
	}
	if !real {
		if _, _, err := jwt.NewParser().ParseUnverified(a.Token, &cl); err != nil {
			r.t.Fatal(err)
		}
	}
	if cl.Arc != nil {
		arc = *cl.Arc
	}
	return real, arc
}

// code is the public error code of err ("" for nil).
func code(err error) apierr.Code {
	if err == nil {
		return ""
	}
	return apierr.From(err).Code
}

func jsonField(body []byte, v any) error { return json.Unmarshal(body, v) }

func b64uDecode(s string) ([]byte, error) { return base64.RawURLEncoding.DecodeString(s) }
