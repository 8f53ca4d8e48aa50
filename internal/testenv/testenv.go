// Package testenv builds real test deployments: a file store in a temp
// directory holding a known registry, and real daemons serving it on
// loopback ports. Tests of every transport share it; nothing here is a
// mock. Only tests (and the benchmarks) import it.
package testenv

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/attestd/attestd/client"
	"github.com/attestd/attestd/crypto/envelope"
	"github.com/attestd/attestd/crypto/secret"
	"github.com/attestd/attestd/daemon"
	"github.com/attestd/attestd/internal/limit"
	"github.com/attestd/attestd/internal/model"
	"github.com/attestd/attestd/internal/state"
	"github.com/attestd/attestd/store"
	"github.com/attestd/attestd/store/open"
)

// Well-known ids of the test registry.
const (
	Account      = "acme"
	AccountES    = "acme-es"
	AccountEd    = "acme-ed"
	App          = "com.example.shop"
	AppES        = "com.example.es"
	AppEd        = "com.example.ed"
	AppIOS       = "com.example.ios"
	AppStrict    = "com.example.strict" // requires platform attestation
	AppLenient   = "com.example.lenient"
	Version      = "4.2.1"
	TeamID       = "TEAM123456"
	SecretName   = "maps_api_key"
	SecretValue  = "sk_test_do_not_leak_4f1c9a"
	PinHost      = "api.example.com"
	KIDHS        = "k1"
	KIDES        = "e1"
	KIDEd        = "d1"
	BannedMarker = "banned"
)

// Fixture is the test registry and the key material tests verify with.
type Fixture struct {
	Bundle     *model.Bundle
	HSKey      []byte // raw HS256 key of Account
	ESKey      *ecdsa.PrivateKey
	EdKey      ed25519.PrivateKey
	Signer     []byte
	CodeDigest []byte
	Pins       []string
	// Banned is a device key whose did the registry bans.
	Banned *ecdsa.PrivateKey
}

func digest(label string) []byte { s := sha256.Sum256([]byte(label)); return s[:] }
func b64u(b []byte) string       { return base64.RawURLEncoding.EncodeToString(b) }
func b64(b []byte) string        { return base64.StdEncoding.EncodeToString(b) }

// NewFixture makes fresh keys and the registry around them.
func NewFixture(t testing.TB) *Fixture {
	t.Helper()
	f := &Fixture{HSKey: make([]byte, 32), Signer: digest("signer"), CodeDigest: digest("code")}
	rand.Read(f.HSKey)
	var err error
	if f.ESKey, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
		t.Fatal(err)
	}
	if _, f.EdKey, err = ed25519.GenerateKey(rand.Reader); err != nil {
		t.Fatal(err)
	}
	if f.Banned, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
		t.Fatal(err)
	}
	esDER, _ := x509.MarshalPKCS8PrivateKey(f.ESKey)
	edDER, _ := x509.MarshalPKCS8PrivateKey(f.EdKey)
	f.Pins = []string{b64(digest("pin1")), b64(digest("pin2"))}
	pub, _ := f.Banned.PublicKey.ECDH()
	bannedDID := b64u(digest(string(pub.Bytes())))
	app := func(id, account, platform string, p model.Policy) model.App {
		a := model.App{ID: id, Account: account, Platform: platform, Signers: []string{b64u(f.Signer)},
			Versions: map[string]string{Version: b64u(f.CodeDigest)}, Policy: p}
		if platform == model.PlatformIOS {
			a.TeamID = TeamID
		}
		return a
	}
	f.Bundle = &model.Bundle{
		Accounts: []model.Account{
			{ID: Account, Token: model.TokenPolicy{TTL: 300, Annotate: true},
				Keys:    []model.Key{{KID: KIDHS, Alg: model.AlgHS256, Status: model.StatusActive, Secret: secret.FromString(b64(f.HSKey))}},
				Secrets: []model.Secret{{Name: SecretName, Value: secret.FromString(SecretValue), Apps: []string{App, AppLenient}}},
				Pins:    map[string][]string{PinHost: f.Pins}},
			{ID: AccountES, Token: model.TokenPolicy{TTL: 120},
				Keys: []model.Key{{KID: KIDES, Alg: model.AlgES256, Status: model.StatusActive, PrivateKey: secret.FromString(b64(esDER))}}},
			{ID: AccountEd, Keys: []model.Key{{KID: KIDEd, Alg: model.AlgEdDSA, Status: model.StatusActive, PrivateKey: secret.FromString(b64(edDER))}}},
		},
		Apps: []model.App{
			app(App, Account, model.PlatformAndroid, model.Policy{}),
			app(AppLenient, Account, model.PlatformAndroid, model.Policy{AllowRooted: true, AllowDebugger: true, AllowHooked: true, AllowEmulator: true}),
			app(AppStrict, Account, model.PlatformAndroid, model.Policy{RequirePlatformAttestation: true}),
			app(AppIOS, Account, model.PlatformIOS, model.Policy{}),
			app(AppES, AccountES, model.PlatformAndroid, model.Policy{}),
			app(AppEd, AccountEd, model.PlatformAndroid, model.Policy{}),
		},
		Bans: &model.Bans{Devices: []string{bannedDID}},
	}
	return f
}

// ClientApp is the client.App of app id with the fixture's digests.
func (f *Fixture) ClientApp(id string) client.App {
	platform := model.PlatformAndroid
	if id == AppIOS {
		platform = model.PlatformIOS
	}
	return client.App{ID: id, Version: Version, Platform: platform, Signer: f.Signer, CodeDigest: f.CodeDigest}
}

// Store is a file store directory with its URL.
type Store struct {
	Dir string
	URL string
}

// NewStore creates a file store holding the fixture's registry.
func NewStore(t testing.TB, f *Fixture) *Store {
	t.Helper()
	dir := t.TempDir()
	s := &Store{Dir: dir, URL: "file://" + dir}
	s.Import(t, f.Bundle)
	return s
}

// Import applies a bundle, as `attestctl import` does, and returns the
// store revision it wrote.
func (s *Store) Import(t testing.TB, b *model.Bundle) int64 {
	t.Helper()
	return s.Update(t, func(st state.Sealer) state.Mutation {
		return func(snap *store.Snapshot) (store.Changes, error) { return state.Apply(snap, b, st, rand.Reader) }
	})
}

// Update runs one mutation against the store and returns the store
// revision it wrote (Node.AwaitRevision waits for a node to serve it).
func (s *Store) Update(t testing.TB, mut func(state.Sealer) state.Mutation) (rev int64) {
	t.Helper()
	s.with(t, func(ctx context.Context, st store.Store, seal *envelope.Keyring) {
		if _, err := st.Update(ctx, state.EnsureDeployment(seal, rand.Reader)); err != nil {
			t.Fatal(err)
		}
		var err error
		if rev, err = st.Update(ctx, mut(seal)); err != nil {
			t.Fatal(err)
		}
	})
	return rev
}

// with opens the store for f, and closes it after.
func (s *Store) with(t testing.TB, f func(ctx context.Context, st store.Store, seal *envelope.Keyring)) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	st, seal, err := open.Open(ctx, s.URL, open.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	f(ctx, st, seal)
}

// Load reads the store's current snapshot, and returns it with the
// store's keyring (which opens what is sealed in it).
func (s *Store) Load(t testing.TB) (snap *store.Snapshot, seal *envelope.Keyring) {
	t.Helper()
	s.with(t, func(ctx context.Context, st store.Store, k *envelope.Keyring) {
		var err error
		if snap, err = st.Load(ctx); err != nil {
			t.Fatal(err)
		}
		seal = k
	})
	return snap, seal
}

// Revision is the store's current revision (after attestctl wrote to it,
// say).
func (s *Store) Revision(t testing.TB) int64 {
	t.Helper()
	snap, _ := s.Load(t)
	return snap.Revision
}

// Clock is a settable test clock: real time plus an offset.
type Clock struct{ offset atomic.Int64 }

// Now is the clock's time.
func (c *Clock) Now() time.Time { return time.Now().Add(time.Duration(c.offset.Load())) }

// Advance moves the clock forward.
func (c *Clock) Advance(d time.Duration) { c.offset.Add(int64(d)) }

// Node is a running daemon.
type Node struct {
	D     *daemon.Daemon
	Base  string // http://127.0.0.1:port
	Admin string
	Clock *Clock
	stop  context.CancelFunc
	done  chan error
}

// Options tune StartNode.
type Options struct {
	Edit func(*daemon.Config)
	// Log, when set, receives the daemon's log lines too.
	Log io.Writer
	// LogLevel overrides the default "warn".
	LogLevel string
}

// StartNode runs a daemon on s with loopback ports chosen by the kernel;
// it stops when the test ends.
func StartNode(t testing.TB, s *Store, o Options) *Node {
	t.Helper()
	f := daemon.DefaultFlags()
	f.Store, f.Listen, f.AdminListen = s.URL, "127.0.0.1:0", "127.0.0.1:0"
	f.LogLevel = "warn"
	if o.LogLevel != "" {
		f.LogLevel = o.LogLevel
	}
	cfg, err := f.Validate()
	if err != nil {
		t.Fatal(err)
	}
	// Tests drive one device key hard; rate limits are tested on their own.
	cfg.Limits = limit.Config{}
	if o.Edit != nil {
		o.Edit(&cfg)
	}
	clock := &Clock{}
	ctx, cancel := context.WithCancel(context.Background())
	var logw io.Writer = testWriter{t}
	if o.Log != nil {
		logw = io.MultiWriter(logw, &lockedWriter{w: o.Log})
	}
	d, err := daemon.New(ctx, cfg, daemon.Options{Now: clock.Now, Stderr: logw})
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	n := &Node{D: d, Base: "http://" + d.Addr().String(), Admin: "http://" + d.AdminAddr().String(), Clock: clock, stop: cancel, done: make(chan error, 1)}
	go func() { n.done <- d.Run(ctx) }()
	t.Cleanup(func() { n.Stop(t) })
	return n
}

// Stop stops the node and waits for it.
func (n *Node) Stop(t testing.TB) {
	if n.stop == nil {
		return
	}
	n.stop()
	n.stop = nil
	if err := <-n.done; err != nil {
		t.Errorf("daemon: %v", err)
	}
}

// Client returns a client for app on node n over hc (nil: a plain HTTP/1.1 client).
func (n *Node) Client(t testing.TB, f *Fixture, app string, hc *http.Client) *client.Client {
	t.Helper()
	c, err := client.New(client.Config{BaseURL: n.Base, App: f.ClientApp(app), HTTP: hc, Now: n.Clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

type testWriter struct{ t testing.TB }

type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// SecretNeedles returns every secret a registry built from f holds, in the
// encodings it could leak in: runtime secret values, key material as
// bundles carry it, the master key and the deployment keys.
func SecretNeedles(t testing.TB, f *Fixture, s *Store) []string {
	t.Helper()
	needles := []string{SecretValue, b64(f.HSKey), b64u(f.HSKey)}
	esDER, _ := x509.MarshalPKCS8PrivateKey(f.ESKey)
	edDER, _ := x509.MarshalPKCS8PrivateKey(f.EdKey)
	needles = append(needles, b64(esDER)[:40], b64(edDER)[:40], b64(f.EdKey.Seed()))
	mk, err := os.ReadFile(filepath.Join(s.Dir, "master.key"))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(mk), "\n") {
		if _, key, ok := strings.Cut(strings.TrimSpace(line), ":"); ok && len(key) > 20 {
			needles = append(needles, key)
		}
	}
	snap, seal := s.Load(t)
	e, _ := snap.Get(state.DeploymentKey)
	dep, err := state.DecodeDeployment(e.Value, seal)
	if err != nil {
		t.Fatal(err)
	}
	for _, ks := range []state.KeySet{dep.Nonce, dep.Receipt, dep.TLSSessionTickets} {
		for _, k := range ks.Keys {
			needles = append(needles, b64(k.Reveal()), b64u(k.Reveal()))
		}
	}
	if !dep.DebugToken.IsZero() {
		needles = append(needles, b64(dep.DebugToken.Reveal()), b64u(dep.DebugToken.Reveal()))
	}
	return needles
}

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Logf("%s", p)
	return len(p), nil
}
