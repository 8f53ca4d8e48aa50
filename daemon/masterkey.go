package daemon

import (
	"errors"
	"fmt"
	"hash"
	"maps"
	"slices"
	"sync/atomic"
	"time"

	"github.com/attestd/attestd/crypto/envelope"
	"github.com/attestd/attestd/crypto/secret"
	"github.com/attestd/attestd/internal/recordauth"
	"github.com/attestd/attestd/internal/state"
	"github.com/attestd/attestd/store"
	"github.com/attestd/attestd/store/open"
)

// keyRereadInterval bounds how often a value sealed under a master key the
// node does not hold makes it re-read the master key file (a SIGHUP reload
// always re-reads it).
const keyRereadInterval = time.Second

// masterKeys is the node's master keyring, the state.Sealer of the registry
// and of a first start's seeding. A reload, or a store change sealed under a
// key the node does not hold, replaces the keyring inside whole: an atomic
// pointer, so an Open sees the old keys or the new, never a mix, and the way
// to the keys takes no lock and allocates nothing. The keys themselves live
// in the *envelope.Keyring and, as the file was read, in a secret.Value:
// nothing here prints them.
type masterKeys struct {
	path string // the master key file, re-read by path (it is replaced by rename)
	cur  atomic.Pointer[envelope.Keyring]
	// prev, while a new keyring is tried together with the store change
	// that needs it, still opens what the served snapshot's lazily
	// compiled accounts need; nil otherwise.
	prev atomic.Pointer[envelope.Keyring]
	// nudge hears (without blocking Open) that a sealed value named a key
	// id the node does not hold.
	nudge chan struct{}

	// Guarded by Daemon.keyMu.
	held     secret.Value // the key file content cur was built from
	ids      []string     // cur's key ids, in file order
	lastSeen secret.Value // the content last read, adopted or not
	lastRead time.Time    // when the file was last re-read for a missing key
}

var (
	_ state.Sealer    = (*masterKeys)(nil)
	_ recordauth.Keys = (*masterKeys)(nil)
)

// Seal seals under the active key (a first start seeds its store with it).
func (m *masterKeys) Seal(plaintext []byte, name string) (string, error) {
	return m.cur.Load().Seal(plaintext, name)
}

// Open opens a sealed value with the keys held.
func (m *masterKeys) Open(sealed, name string) (secret.Value, error) {
	v, err := m.cur.Load().Open(sealed, name)
	if err != nil && errors.Is(err, envelope.ErrUnknownKey) {
		if p := m.prev.Load(); p != nil {
			return p.Open(sealed, name)
		}
		select {
		case m.nudge <- struct{}{}:
		default:
		}
	}
	return v, err
}

// ActiveKeyID is the id of the key that seals.
func (m *masterKeys) ActiveKeyID() string { return m.cur.Load().ActiveKeyID() }

// RecordMAC is the record-authentication MAC of master key kid (see
// envelope.Keyring.RecordMAC), from the keys held, as Open finds them.
func (m *masterKeys) RecordMAC(kid string) (hash.Hash, error) {
	h, err := m.cur.Load().RecordMAC(kid)
	if err != nil && errors.Is(err, envelope.ErrUnknownKey) {
		if p := m.prev.Load(); p != nil {
			return p.RecordMAC(kid)
		}
		select {
		case m.nudge <- struct{}{}:
		default:
		}
	}
	return h, err
}

// keyFile is one reading of the master key file.
type keyFile struct {
	content secret.Value
	ids     []string
	kr      *envelope.Keyring
}

// readKeyFile reads and parses the master key file at path: mode 0600 or
// stricter, every key self-tested. Its errors never hold key material.
func readKeyFile(path string) (keyFile, error) {
	v, ks, err := open.ReadKeySet(path)
	if err != nil {
		return keyFile{}, err
	}
	kr, err := ks.Keyring()
	if err != nil {
		return keyFile{}, fmt.Errorf("master key file %s: %w", path, err)
	}
	return keyFile{content: v, ids: ks.IDs(), kr: kr}, nil
}

// masterKeyPath is the master key file of cfg: --master-key, else a file
// store's own <dir>/master.key (which store/open created if missing).
func masterKeyPath(cfg Config) (string, error) { return open.MasterKeyPath(cfg.Store, cfg.MasterKey) }

// loadMasterKeys reads the master key file the store was opened with.
func loadMasterKeys(cfg Config) (*masterKeys, error) {
	path, err := masterKeyPath(cfg)
	if err != nil {
		return nil, err
	}
	kf, err := readKeyFile(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", open.ErrMasterKey, err)
	}
	m := &masterKeys{path: path, nudge: make(chan struct{}, 1), held: kf.content, ids: kf.ids, lastSeen: kf.content}
	m.cur.Store(kf.kr)
	return m, nil
}

// keyError reports whether err is a sealed value that does not open with
// the keys it was given.
func keyError(err error) bool {
	return errors.Is(err, envelope.ErrUnknownKey) || errors.Is(err, envelope.ErrDecrypt)
}

// loses returns the first sealed record of raw (deployment keys, account
// secrets and keys) that opens with the keys held but not with next, or the
// first master key that tags records whose record key next lacks and held
// has, as an error naming it (never a key); nil when next opens and
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

// adoptKeys installs the keys of kf; d.keyMu is held. With a store change
// pending for want of a key, kf is tried on it first: installed, the change
// swapped in (the previous keys still opening for the snapshot being
// replaced meanwhile), and kept when the change applies; applied is then
// that snapshot. Otherwise kf is installed only when it opens everything
// the held keys open in the served snapshot, and pending says why the
// pending change still does not apply. When refused (err), nothing changed.
func (d *Daemon) adoptKeys(kf keyFile) (applied *store.Snapshot, pending, err error) {
	k := d.keys
	old := k.cur.Load()
	if p := d.pending; p != nil {
		if pending = loses(p, old, kf.kr); pending == nil {
			k.prev.Store(old)
			k.cur.Store(kf.kr)
			pending = d.reg.Swap(p)
			k.prev.Store(nil)
			if pending == nil {
				k.held, k.ids = kf.content, kf.ids
				d.pending = nil
				return p, nil, nil
			}
			k.cur.Store(old)
		}
		pending = fmt.Errorf("store change (revision %d) still not applied: %w", p.Revision, pending)
	}
	if err := loses(d.reg.Raw(), old, kf.kr); err != nil {
		return nil, pending, fmt.Errorf("master key file %s does not open the state this node serves, keeping the keys held: %w", k.path, err)
	}
	k.cur.Store(kf.kr)
	k.held, k.ids = kf.content, kf.ids
	return nil, pending, nil
}

// Outcomes of rereadKeys that read nothing new.
var (
	errRereadSoon       = errors.New("master key file re-read less than a second ago")
	errKeyFileUnchanged = errors.New("master key file unchanged")
)

// applySnapshot installs a snapshot from the store watch. One that does not
// open with the keys held makes the node re-read the master key file (at
// most once a keyRereadInterval) and try again with it; failing that, the
// last good state keeps serving and the change stays pending: watchKeys
// retries it each time the key file changes, as does a reload.
func (d *Daemon) applySnapshot(snap *store.Snapshot) {
	d.keyMu.Lock()
	defer d.keyMu.Unlock()
	err := d.reg.Swap(snap)
	if err == nil {
		d.pending = nil
		d.applied(snap)
		return
	}
	d.pending = nil
	d.storeError()
	if !keyError(err) && recordauth.Reason(err) != "" {
		d.refuse(snap, err) // logs it
		return
	}
	args := []any{"revision", snap.Revision, "err", err}
	if keyError(err) {
		d.pending = snap
		applied, rerr := d.rereadKeys(true)
		if applied != nil {
			d.applied(applied)
			return
		}
		if rerr != nil {
			args = append(args, "master_key_file", rerr)
		}
	}
	d.refuse(snap, err)
	d.log.Warn("store change not applied; serving the last good state", args...)
}

// applied reports a snapshot the registry installed.
func (d *Daemon) applied(snap *store.Snapshot) {
	d.installed()
	d.metrics.StoreSynced(snap.Revision)
	d.log.Info("store change applied", "revision", snap.Revision)
	d.deploymentChanged()
}

// rereadKeys re-reads the master key file because a sealed value did not
// open with the keys held, and adopts it (adoptKeys); d.keyMu is held. It
// reads nothing when the file was re-read less than keyRereadInterval ago
// (errRereadSoon), and adopts nothing when the file reads as the keys held
// or, unless fresh (a new store change to try), as it did last time
// (errKeyFileUnchanged). applied is the pending snapshot when it applied;
// err says why the file was refused or the pending change still did not
// apply. Never a key in either.
func (d *Daemon) rereadKeys(fresh bool) (applied *store.Snapshot, err error) {
	k := d.keys
	now := d.opts.Now()
	if since := now.Sub(k.lastRead); !k.lastRead.IsZero() && since >= 0 && since < keyRereadInterval {
		return nil, errRereadSoon
	}
	k.lastRead = now
	kf, err := readKeyFile(k.path)
	if err != nil {
		return nil, err
	}
	if kf.content.Equal(k.held) || !fresh && kf.content.Equal(k.lastSeen) {
		return nil, fmt.Errorf("%w: %s lists %v", errKeyFileUnchanged, k.path, kf.ids)
	}
	k.lastSeen = kf.content
	applied, pending, err := d.adoptKeys(kf)
	if err != nil {
		return nil, errors.Join(err, pending)
	}
	d.log.Info("master key file re-read; its keys are in use", "file", k.path, "keys", k.ids, "active", k.cur.Load().ActiveKeyID())
	return applied, pending
}

// watchKeys runs beside the store watch until done closes. While a store
// change is pending for want of a master key it re-reads the key file
// every keyRereadInterval, and applies the change once the file has the
// key (so a node follows a rotation when its key file is updated after the
// store). It also re-reads the file when an account, opened on first use,
// named a key the node does not hold.
func (d *Daemon) watchKeys(done <-chan struct{}) {
	t := time.NewTicker(keyRereadInterval)
	defer t.Stop()
	for {
		nudged := false
		select {
		case <-done:
			return
		case <-t.C:
		case <-d.keys.nudge:
			nudged = true
		}
		d.retryKeys(nudged)
	}
}

// retryKeys is one round of watchKeys: with a store change pending, or
// when nudged, re-read the master key file (rereadKeys' limits apply).
func (d *Daemon) retryKeys(nudged bool) {
	d.keyMu.Lock()
	defer d.keyMu.Unlock()
	if d.pending == nil && !nudged {
		return
	}
	applied, err := d.rereadKeys(false)
	switch {
	case applied != nil:
		d.applied(applied)
	case err != nil && !errors.Is(err, errRereadSoon) && !errors.Is(err, errKeyFileUnchanged):
		d.log.Warn("master key file re-read; the store still does not open with it", "err", err)
	}
}
