// Package registry is the edge's read-only view of the store: the current
// snapshot, the deployment keys and ban list compiled eagerly, and apps and
// accounts compiled on first use into read-through caches (package cache),
// negative entries included.
//
// Swap installs a new snapshot: its records are authenticated first
// (internal/recordauth: every tag, the manifest, a generation not below
// the one installed), then the new view is built fully and replaces the
// old atomically; when it does not verify or cannot be built the old keeps
// serving (last-known-good) and Swap says why. Records are checked once
// per change, never per request.
//
// Only packages of this module import it. A *Registry is safe for
// concurrent use.
package registry

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"maps"
	"sync/atomic"
	"unsafe"

	"github.com/attestd/attestd/cache"
	"github.com/attestd/attestd/crypto/nonce"
	"github.com/attestd/attestd/crypto/secret"
	"github.com/attestd/attestd/crypto/token"
	"github.com/attestd/attestd/internal/model"
	"github.com/attestd/attestd/internal/recordauth"
	"github.com/attestd/attestd/internal/state"
	"github.com/attestd/attestd/store"
	"github.com/attestd/attestd/verify/playintegrity"
)

// Sentinel errors.
var (
	// ErrNotReady: no snapshot was installed yet.
	ErrNotReady = errors.New("registry: no store snapshot loaded yet")
	// ErrNoDeployment: the store has no deployment keys (run attestctl init).
	ErrNoDeployment = errors.New("registry: the store has no deployment keys")
)

// Config configures a Registry.
type Config struct {
	// Sealer opens secrets sealed at rest (the master key).
	Sealer state.Sealer
	// MaxEntries bounds each cache (apps, accounts); default 100 000.
	MaxEntries int64
	// Rand is the source of decoy keys; default crypto/rand.
	Rand io.Reader
	// Records authenticates every snapshot before it is installed (the
	// master keys' record keys). Nil: no authentication, the tags are
	// only stripped; only tests and benchmarks that build a registry by
	// hand leave it nil, the daemon always sets it.
	Records recordauth.Keys
	// Floor is the newest state accepted before this registry (a node's
	// last-known-good snapshot): an older generation is refused.
	Floor recordauth.Floor
}

// Registry is the edge's view of the store.
type Registry struct {
	cfg      Config
	view     atomic.Pointer[view]
	gen      atomic.Uint64
	apps     *cache.ReadThrough[*App]
	accounts *cache.ReadThrough[*Account]
}

// view is everything derived from one snapshot that is compiled eagerly.
type view struct {
	raw        *store.Snapshot // as stored, tags included
	snap       *store.Snapshot // the records without their tags
	floor      recordauth.Floor
	gen        uint64
	deployment *state.Deployment
	nonces     *nonce.Keyring
	bans       map[string]struct{}
	decoy      *token.Signer
	apis       apiIndex
	// debugKey MACs debug tokens; nil when the store has none yet.
	debugKey []byte
	// debugNames finds debug tokens by name (the proxy's dbg check).
	debugNames debugNames
}

// New returns an empty registry; it is not ready until the first Swap.
func New(cfg Config) (*Registry, error) {
	if cfg.Sealer == nil {
		return nil, errors.New("registry: a sealer is required")
	}
	if cfg.MaxEntries == 0 {
		cfg.MaxEntries = 100_000
	}
	if cfg.Rand == nil {
		cfg.Rand = rand.Reader
	}
	apps, err := cache.New[*App](cfg.MaxEntries)
	if err != nil {
		return nil, err
	}
	accounts, err := cache.New[*Account](cfg.MaxEntries)
	if err != nil {
		return nil, err
	}
	return &Registry{cfg: cfg, apps: apps, accounts: accounts}, nil
}

// Close releases the caches.
func (r *Registry) Close() {
	r.apps.Close()
	r.accounts.Close()
}

// Swap installs snap if it is newer than the current view. The deployment
// keys and bans are compiled first; on error the current view stays.
func (r *Registry) Swap(raw *store.Snapshot) error {
	old := r.view.Load()
	if old != nil && raw.Revision <= old.raw.Revision {
		return nil
	}
	snap, floor, err := r.authenticate(raw, old)
	if err != nil {
		return err
	}
	v := &view{raw: raw, snap: snap, floor: floor, gen: r.gen.Add(1)}
	ent, ok := snap.Get(state.DeploymentKey)
	if !ok {
		return ErrNoDeployment
	}
	dep, err := state.DecodeDeployment(ent.Value, r.cfg.Sealer)
	if err != nil {
		return fmt.Errorf("registry: deployment keys: %w", err)
	}
	v.deployment = dep
	if !dep.DebugToken.IsZero() {
		v.debugKey = dep.DebugToken.Reveal()
	}
	if v.nonces, err = nonce.NewKeyring(dep.Nonce.Active, dep.Nonce.Keys); err != nil {
		return fmt.Errorf("registry: nonce keys: %w", err)
	}
	v.bans = map[string]struct{}{}
	if ent, ok := snap.Get(state.BansKey); ok {
		bans, err := state.DecodeBans(ent.Value)
		if err != nil {
			return fmt.Errorf("registry: bans: %w", err)
		}
		for _, d := range bans.Devices {
			v.bans[d] = struct{}{}
		}
	}
	if old != nil && old.decoy != nil && sameNonceKey(old.deployment, dep) {
		v.decoy = old.decoy
	} else if v.decoy, err = newUnknownDecoy(dep, r.cfg.Rand); err != nil {
		return fmt.Errorf("registry: decoy: %w", err)
	}
	r.view.Store(v)
	return nil
}

func sameNonceKey(a, b *state.Deployment) bool {
	return a.Nonce.Active == b.Nonce.Active && a.Nonce.ActiveKey().Equal(b.Nonce.ActiveKey())
}

// newUnknownDecoy makes the HS256 signer of app_unknown decoys: a kid that
// every node of the deployment derives alike (so nodes look the same) and
// a random key that no one holds.
func newUnknownDecoy(dep *state.Deployment, rnd io.Reader) (*token.Signer, error) {
	m := hmac.New(sha256.New, dep.Nonce.ActiveKey().Reveal())
	m.Write([]byte("attestd decoy kid"))
	kid := hex.EncodeToString(m.Sum(nil)[:4])
	var k [32]byte
	if _, err := io.ReadFull(rnd, k[:]); err != nil {
		return nil, err
	}
	return token.NewSigner(kid, token.HS256, secret.New(k[:]))
}

func (r *Registry) current() (*view, error) {
	v := r.view.Load()
	if v == nil {
		return nil, ErrNotReady
	}
	return v, nil
}

// Ready reports whether a snapshot is installed.
func (r *Registry) Ready() bool { return r.view.Load() != nil }

// Revision is the installed snapshot's revision (0 before the first).
func (r *Registry) Revision() int64 {
	if v := r.view.Load(); v != nil {
		return v.snap.Revision
	}
	return 0
}

// Snapshot returns the installed snapshot's records without their tags
// (nil before the first).
func (r *Registry) Snapshot() *store.Snapshot {
	if v := r.view.Load(); v != nil {
		return v.snap
	}
	return nil
}

// Deployment returns the deployment keys.
func (r *Registry) Deployment() (*state.Deployment, error) {
	v, err := r.current()
	if err != nil {
		return nil, err
	}
	return v.deployment, nil
}

// Nonces returns the nonce keyring.
func (r *Registry) Nonces() (*nonce.Keyring, error) {
	v, err := r.current()
	if err != nil {
		return nil, err
	}
	return v.nonces, nil
}

// UnknownDecoy returns the signer of app_unknown decoys.
func (r *Registry) UnknownDecoy() (*token.Signer, error) {
	v, err := r.current()
	if err != nil {
		return nil, err
	}
	return v.decoy, nil
}

// Banned reports whether the device did is banned.
func (r *Registry) Banned(did string) bool {
	v := r.view.Load()
	if v == nil {
		return false
	}
	_, banned := v.bans[did]
	return banned
}

// versionOf returns what v's snapshot holds at key.
func versionOf(v *view, key string) func() cache.Version {
	return func() cache.Version {
		e, ok := v.snap.Get(key)
		return cache.Version{Gen: v.gen, Present: ok, ModRevision: e.ModRevision}
	}
}

// App returns the compiled app id, or false when it is not registered.
func (r *Registry) App(id []byte) (*App, bool, error) {
	v, err := r.current()
	if err != nil {
		return nil, false, err
	}
	if len(id) > 0 {
		// The fast path looks up without copying id: Peek only hashes its
		// key (ristretto keeps hashes, never keys), and nothing holds the
		// string after Peek returns.
		if a, present, ok := r.apps.Peek(unsafe.String(&id[0], len(id)), v.gen); ok {
			return a, present, nil
		}
	}
	sid := string(id)
	key := state.AppsPrefix + sid
	return r.apps.Get(sid, v.gen, versionOf(v, key), func() (*App, error) {
		e, _ := v.snap.Get(key)
		m, err := state.DecodeApp(key, e.Value, r.cfg.Sealer)
		if err != nil {
			return nil, err
		}
		return compileApp(m)
	})
}

// Account returns the compiled account id, or false when there is none.
func (r *Registry) Account(id string) (*Account, bool, error) {
	v, err := r.current()
	if err != nil {
		return nil, false, err
	}
	if a, present, ok := r.accounts.Peek(id, v.gen); ok {
		return a, present, nil
	}
	key := state.AccountsPrefix + id
	return r.accounts.Get(id, v.gen, versionOf(v, key), func() (*Account, error) {
		e, _ := v.snap.Get(key)
		m, err := state.DecodeAccount(key, e.Value, r.cfg.Sealer)
		if err != nil {
			return nil, err
		}
		return compileAccount(m)
	})
}

// CacheStats returns the app and account cache counters.
func (r *Registry) CacheStats() (apps, accounts cache.Stats) {
	return r.apps.Stats(), r.accounts.Stats()
}

func compileApp(m *model.App) (*App, error) {
	a := &App{ID: m.ID, Account: m.Account, Platform: m.Platform, TeamID: m.TeamID, Policy: m.Policy,
		Versions: make(map[string][32]byte, len(m.Versions))}
	a.Policy.AndroidMinSecurity = m.Policy.MinSecurity()
	a.Monitor = m.Policy.Monitor()
	for _, s := range m.Signers {
		d, err := digest(s)
		if err != nil {
			return nil, fmt.Errorf("registry: app %q signer: %w", m.ID, err)
		}
		a.Signers = append(a.Signers, d)
	}
	for ver, s := range m.Versions {
		d, err := digest(s)
		if err != nil {
			return nil, fmt.Errorf("registry: app %q version %q: %w", m.ID, ver, err)
		}
		a.Versions[ver] = d
	}
	if m.VersionCodes != nil {
		a.VersionCodes = make(map[string]int64, len(m.VersionCodes))
		maps.Copy(a.VersionCodes, m.VersionCodes)
	}
	for i, s := range m.Policy.AndroidAllowedBootKeys {
		b, err := base64.StdEncoding.Strict().DecodeString(s)
		if err != nil || len(b) != 32 {
			return nil, fmt.Errorf("registry: app %q boot key %d: not b64 of 32 bytes", m.ID, i)
		}
		a.BootKeys = append(a.BootKeys, [32]byte(b))
	}
	play, err := compilePlay(m.PlayIntegrity)
	if err != nil {
		return nil, fmt.Errorf("registry: app %q play_integrity: %w", m.ID, err)
	}
	a.Play = play
	return a, nil
}

// compilePlay parses an app's Play Integrity keys (nil: none) into the
// set the verifier uses, the current pair first.
func compilePlay(pi *model.PlayIntegrity) (*playintegrity.KeySet, error) {
	if pi == nil {
		return nil, nil
	}
	pair := func(k *model.PlayKeys) (playintegrity.KeyPair, error) {
		return playintegrity.NewKeyPair(k.DecryptionKey.Reveal(), k.VerificationKey.Reveal())
	}
	cur, err := pair(&pi.PlayKeys)
	if err != nil {
		return nil, err
	}
	if pi.Previous == nil {
		return playintegrity.NewKeySet(cur)
	}
	prev, err := pair(pi.Previous)
	if err != nil {
		return nil, err
	}
	return playintegrity.NewKeySet(cur, prev)
}

func digest(s string) ([32]byte, error) {
	var d [32]byte
	b, err := base64.RawURLEncoding.Strict().DecodeString(s)
	if err != nil || len(b) != 32 {
		return d, errors.New("not b64u of 32 bytes")
	}
	copy(d[:], b)
	return d, nil
}
