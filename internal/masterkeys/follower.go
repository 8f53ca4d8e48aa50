package masterkeys

import (
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/attestd/attestd/crypto/envelope"
	"github.com/attestd/attestd/crypto/secret"
	"github.com/attestd/attestd/internal/recordauth"
	"github.com/attestd/attestd/internal/state"
	"github.com/attestd/attestd/store"
)

// RereadInterval bounds how often a value sealed under a master key the
// node does not hold makes it re-read the master key file (a reload
// always re-reads it).
const RereadInterval = time.Second

// Registry is where the Follower installs store states (a
// *registry.Registry, built over the Keys).
type Registry interface {
	// Swap installs a store state, or says why it does not open or verify
	// with the keys held (and changes nothing).
	Swap(*store.Snapshot) error
	// Raw is the store state installed (nil before the first).
	Raw() *store.Snapshot
}

// Config is what a Follower needs besides the Keys. Its hooks are called
// with the Follower's lock held, in the order the states were swapped, so
// that what they report (metrics, logs) follows the registry.
type Config struct {
	Registry Registry
	// Now is the clock of RereadInterval (default time.Now).
	Now func() time.Time
	// Log receives the key file's re-reads and the changes left pending.
	Log *slog.Logger
	// Applied reports a store state the registry installed: from Apply,
	// or a pending one that a re-read key file made apply.
	Applied func(*store.Snapshot)
	// Failed counts a store state the registry refused, before anything
	// is done about it (a re-read key file may still apply it).
	Failed func()
	// Refused reports a store state the registry refused and that stays
	// refused (err is the registry's: records that do not verify, or a
	// value sealed under a key the node still lacks). A refusal for want
	// of a key is logged by the Follower; Refused logs the others.
	Refused func(*store.Snapshot, error)
}

// Follower keeps a node's Keys current with its master key file, and
// installs the store's states in its registry: every Swap goes through
// it, so that key changes and store changes are serialised. It is safe
// for concurrent use.
type Follower struct {
	keys *Keys
	cfg  Config

	mu sync.Mutex // serialises the registry's Swap calls and key changes
	// pending is a store change that did not open with the keys held.
	pending  *store.Snapshot
	held     secret.Value // the key file content keys.cur was built from
	ids      []string     // keys.cur's key ids, in file order
	lastSeen secret.Value // the content last read, adopted or not
	lastRead time.Time    // when the file was last re-read for a missing key
}

// NewFollower returns the Follower of keys, which must be the Keys the
// registry was built with.
func NewFollower(keys *Keys, cfg Config) *Follower {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Applied == nil {
		cfg.Applied = func(*store.Snapshot) {}
	}
	if cfg.Failed == nil {
		cfg.Failed = func() {}
	}
	if cfg.Refused == nil {
		cfg.Refused = func(*store.Snapshot, error) {}
	}
	f := keys.loaded
	return &Follower{keys: keys, cfg: cfg, held: f.content, ids: f.ids, lastSeen: f.content}
}

// IDs are the ids of the master keys held, in file order.
func (f *Follower) IDs() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.ids
}

// Outcomes of reread that read nothing new.
var (
	errRereadSoon       = errors.New("master key file re-read less than a second ago")
	errKeyFileUnchanged = errors.New("master key file unchanged")
)

// Apply installs a store state (the store watch's callback). One that
// does not open with the keys held makes the node re-read the master key
// file (at most once a RereadInterval) and try again with it; failing
// that, the last good state keeps serving and the change stays pending:
// Run retries it each time the key file changes, as does Reload.
func (f *Follower) Apply(snap *store.Snapshot) {
	f.mu.Lock()
	defer f.mu.Unlock()
	err := f.cfg.Registry.Swap(snap)
	if err == nil {
		f.pending = nil
		f.cfg.Applied(snap)
		return
	}
	f.pending = nil
	f.cfg.Failed()
	if !keyError(err) && recordauth.Reason(err) != "" {
		f.cfg.Refused(snap, err)
		return
	}
	args := []any{"revision", snap.Revision, "err", err}
	if keyError(err) {
		f.pending = snap
		applied, rerr := f.reread(true)
		if applied != nil {
			f.cfg.Applied(applied)
			return
		}
		if rerr != nil {
			args = append(args, "master_key_file", rerr)
		}
	}
	f.cfg.Refused(snap, err)
	f.cfg.Log.Warn("store change not applied; serving the last good state", args...)
}

// Reload adopts the master key file a reload read, unless it reads as the
// keys held. A store change waiting for a key is applied when the file
// has it; one that still does not apply is logged, and is no reload error
// (the keys were re-read and are in use). A file that would not open the
// state served is refused (err): nothing changed.
func (f *Follower) Reload(kf File) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if kf.content.Equal(f.held) {
		return nil
	}
	f.lastSeen = kf.content
	applied, pending, err := f.adopt(kf)
	if err != nil {
		return err
	}
	f.cfg.Log.Info("master key file re-read; its keys are in use", "file", f.keys.path, "keys", f.ids, "active", f.keys.ActiveKeyID())
	if applied != nil {
		f.cfg.Applied(applied)
	}
	if pending != nil {
		f.cfg.Log.Warn("store change not applied; serving the last good state", "err", pending)
	}
	return nil
}

// Run runs beside the store watch until done closes. While a store change
// is pending for want of a master key it re-reads the key file every
// RereadInterval, and applies the change once the file has the key (so a
// node follows a rotation when its key file is updated after the store).
// It also re-reads the file when an account, opened on first use, named
// a key the node does not hold.
func (f *Follower) Run(done <-chan struct{}) {
	t := time.NewTicker(RereadInterval)
	defer t.Stop()
	for {
		nudged := false
		select {
		case <-done:
			return
		case <-t.C:
		case <-f.keys.nudge:
			nudged = true
		}
		f.retry(nudged)
	}
}

// retry is one round of Run: with a store change pending, or when
// nudged, re-read the master key file (reread's limits apply).
func (f *Follower) retry(nudged bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.pending == nil && !nudged {
		return
	}
	applied, err := f.reread(false)
	switch {
	case applied != nil:
		f.cfg.Applied(applied)
	case err != nil && !errors.Is(err, errRereadSoon) && !errors.Is(err, errKeyFileUnchanged):
		f.cfg.Log.Warn("master key file re-read; the store still does not open with it", "err", err)
	}
}

// reread re-reads the master key file because a sealed value did not
// open with the keys held, and adopts it (adopt); f.mu is held. It reads
// nothing when the file was re-read less than RereadInterval ago
// (errRereadSoon), and adopts nothing when the file reads as the keys
// held or, unless fresh (a new store change to try), as it did last time
// (errKeyFileUnchanged). applied is the pending snapshot when it applied;
// err says why the file was refused or the pending change still did not
// apply. Never a key in either.
func (f *Follower) reread(fresh bool) (applied *store.Snapshot, err error) {
	now := f.cfg.Now()
	if since := now.Sub(f.lastRead); !f.lastRead.IsZero() && since >= 0 && since < RereadInterval {
		return nil, errRereadSoon
	}
	f.lastRead = now
	kf, err := ReadFile(f.keys.path)
	if err != nil {
		return nil, err
	}
	if kf.content.Equal(f.held) || !fresh && kf.content.Equal(f.lastSeen) {
		return nil, fmt.Errorf("%w: %s lists %v", errKeyFileUnchanged, f.keys.path, kf.ids)
	}
	f.lastSeen = kf.content
	applied, pending, err := f.adopt(kf)
	if err != nil {
		return nil, errors.Join(err, pending)
	}
	f.cfg.Log.Info("master key file re-read; its keys are in use", "file", f.keys.path, "keys", f.ids, "active", f.keys.ActiveKeyID())
	return applied, pending
}

// adopt installs the keys of kf; f.mu is held. With a store change
// pending for want of a key, kf is tried on it first: installed, the
// change swapped in (the previous keys still opening for the snapshot
// being replaced meanwhile), and kept when the change applies; applied is
// then that snapshot. Otherwise kf is installed only when it opens
// everything the held keys open in the served snapshot, and pending says
// why the pending change still does not apply. When refused (err),
// nothing changed.
func (f *Follower) adopt(kf File) (applied *store.Snapshot, pending, err error) {
	k := f.keys
	old := k.cur.Load()
	if p := f.pending; p != nil {
		if pending = loses(p, old, kf.kr); pending == nil {
			k.prev.Store(old)
			k.cur.Store(kf.kr)
			pending = f.cfg.Registry.Swap(p)
			k.prev.Store(nil)
			if pending == nil {
				f.held, f.ids = kf.content, kf.ids
				f.pending = nil
				return p, nil, nil
			}
			k.cur.Store(old)
		}
		pending = fmt.Errorf("store change (revision %d) still not applied: %w", p.Revision, pending)
	}
	if err := loses(f.cfg.Registry.Raw(), old, kf.kr); err != nil {
		return nil, pending, fmt.Errorf("master key file %s does not open the state this node serves, keeping the keys held: %w", k.path, err)
	}
	k.cur.Store(kf.kr)
	f.held, f.ids = kf.content, kf.ids
	return nil, pending, nil
}

// loses returns the first sealed record of raw (deployment keys, account
// secrets and keys) that opens with the keys held but not with next, or
// the first master key that tags records whose record key next lacks and
// held has, as an error naming it (never a key); nil when next opens and
// verifies all of them. A record that opens with neither is not counted:
// next does not make it worse.
func loses(raw *store.Snapshot, held, next *envelope.Keyring) error {
	if raw == nil {
		return nil
	}
	for _, kid := range slices.Sorted(maps.Keys(recordauth.KeyIDs(raw))) {
		if _, err := next.RecordMAC(kid); err != nil {
			if _, herr := held.RecordMAC(kid); herr == nil {
				return fmt.Errorf("records are tagged under master key %q: %w", kid, err)
			}
		}
	}
	snap := recordauth.Strip(raw)
	if e, ok := snap.Get(state.DeploymentKey); ok {
		if _, err := state.DecodeDeployment(e.Value, next); keyError(err) {
			if _, herr := state.DecodeDeployment(e.Value, held); herr == nil {
				return err
			}
		}
	}
	for _, k := range snap.Keys(state.AccountsPrefix) {
		e, _ := snap.Get(k)
		if _, err := state.DecodeAccount(k, e.Value, next); keyError(err) {
			if _, herr := state.DecodeAccount(k, e.Value, held); herr == nil {
				return err
			}
		}
	}
	return nil
}
