package ctl

import (
	"context"
	"flag"
	"fmt"
	"strings"

	"github.com/attestd/attestd/crypto/envelope"
	"github.com/attestd/attestd/internal/recordauth"
	"github.com/attestd/attestd/internal/state"
	"github.com/attestd/attestd/store"
	"github.com/attestd/attestd/store/open"
)

func masterKeyCommands() []*command {
	return []*command{{
		name:    "master-key new",
		args:    "FILE",
		summary: "write a new master key file (one fresh key, mode 0600) for a new store; never replaces a file",
		help: `Writes a new master key file at FILE holding one fresh random key (m1),
mode 0600, fsynced, and never replaces a file that exists (a store's
secrets are sealed under the key in it). Touches no store.

An etcd store keeps no master key of its own (the key that seals the
secrets is never stored in etcd): create the file once, initialise the
store with it, and give the same file to every node and to attestctl:

  attestctl master-key new /etc/attestd/master.key
  attestctl --store etcd://127.0.0.1:2379/attestd --master-key /etc/attestd/master.key init

('attestctl init --new-master-key FILE' does both.) Keep a copy somewhere
safe: without it nothing sealed in the store can be opened.`,
		minArgs: 1, maxArgs: 1, storeless: true,
		setup: func(*flag.FlagSet) action {
			return func(_ context.Context, r *runner, args []string) error { return runMasterKeyNew(r, args[0]) }
		},
	}, {
		name:    "master-key show",
		args:    "",
		summary: "print the master key ids (never the keys) and how many stored values each seals, as JSON",
		help: `Reads the master key file (--master-key, or a file store's own master.key)
and counts the sealed values of the store by the key that sealed them, and
the record tags by the key whose record key made them ("tagged").
"unlisted" counts values sealed and records tagged under keys the file does
not list: they do not open or verify here.`,
		maxArgs: 0,
		setup:   func(*flag.FlagSet) action { return runMasterKeyShow },
	}, {
		name:    "master-key add",
		args:    "[--kid KID]",
		summary: "list a new master key that opens but does not seal yet (first step of a rotation without downtime)",
		help: `Generates a new random master key and appends it to the master key file:
it opens sealed values but does not seal any yet, and nothing in the store
changes. Copy the key file to every node (a node re-reads it on SIGHUP;
restart nodes that take it through systemd's LoadCredential=, a copy made
at start), so that each holds both keys, then run 'attestctl master-key
rotate --to KID'. Without --kid the next free m<N> is used.`,
		maxArgs: 0,
		setup: func(fs *flag.FlagSet) action {
			kid := fs.String("kid", "", "key id, 1-32 of [A-Za-z0-9_-] (default: the next free m<N>)")
			return func(ctx context.Context, r *runner, _ []string) error { return runMasterKeyAdd(ctx, r, *kid) }
		},
	}, {
		name:    "master-key rotate",
		args:    "[--to KID] [--keep-old]",
		summary: "re-seal every secret under a new master key in one change, then retire the old key",
		help: `1. Without --to, generates a new master key and lists it in the key file
   (opens only), durably, before anything sealed under it is stored; with
   --to, uses a key listed before by 'master-key add'.
2. Re-seals every sealed value of the store (token keys, runtime secrets,
   deployment keys) under it, in ONE store change (one atomic file replace,
   or one etcd transaction): a crash leaves the store all old or all new.
   The same change re-tags the other records under its record key, up to
   100 records in all; a larger store's remaining records are re-tagged in
   changes of 100 (each verifies on its own: records tagged under the old
   key verify while it is listed).
3. Makes it the key file's active key; the old key is still listed.
4. Unless --keep-old, retires (unlists) every other key once the store
   holds no value sealed, and no record tagged, under it.
Each step can fail or crash without losing anything: the key file always
lists every key the store needs, and running the command again (with
--to the new key) finishes the rotation.

A running attestd that meets a value sealed under a key it does not hold
re-reads its key file (at most once a second, and on SIGHUP): a node whose
file lists the new key follows at once; any other keeps serving the state
it had, secrets included, until its file does (a node fed the key through
systemd's LoadCredential= holds a copy made at start: restart it). Never
prints a key.`,
		maxArgs: 0,
		setup: func(fs *flag.FlagSet) action {
			to := fs.String("to", "", "rotate to this listed key (from 'master-key add') instead of a new one")
			keepOld := fs.Bool("keep-old", false, "keep the old key listed (opens only); retire it later with 'master-key retire'")
			return func(ctx context.Context, r *runner, _ []string) error {
				return runMasterKeyRotate(ctx, r, *to, *keepOld)
			}
		},
	}, {
		name:    "master-key retire",
		args:    "KID",
		summary: "unlist a master key that no stored value is sealed under",
		help: `Refused for the active key, and while any stored value is still sealed, or
any record tagged, under KID (run 'master-key rotate --to ACTIVE' to re-seal
and re-tag them first).`,
		minArgs: 1, maxArgs: 1,
		setup: func(*flag.FlagSet) action {
			return func(ctx context.Context, r *runner, args []string) error { return runMasterKeyRetire(ctx, r, args[0]) }
		},
	}}
}

func runMasterKeyNew(r *runner, path string) error {
	if _, err := createMasterKey(r, path); err != nil {
		return err
	}
	r.say("next, initialise the store with it: %s", r.ctlHint("init"))
	return nil
}

// createMasterKey writes a new master key file at path (open.
// CreateMasterKeyFile) and makes it this invocation's --master-key, so
// that the hints that follow name it.
func createMasterKey(r *runner, path string) (kid string, err error) {
	if path == "" {
		return "", usagef("master key file: empty path")
	}
	if kid, err = open.CreateMasterKeyFile(path, r.cfg.Rand); err != nil {
		return "", err
	}
	r.g.masterKey = path
	if r.g.given == nil {
		r.g.given = map[string]string{}
	}
	r.g.given["master-key"] = path
	r.say("master key file %s created (key %s, mode 0600): give it with --master-key to every node and to attestctl, "+
		"and keep a copy somewhere safe (without it the store's secrets cannot be opened)", path, kid)
	return kid, nil
}

func (r *runner) lockMasterKey(ctx context.Context) (*keyFile, error) {
	path, err := r.masterKeyPath()
	if err != nil {
		return nil, err
	}
	return lockKeyFile(ctx, path)
}

// readMasterKeys locks the master key file and reads it; the caller
// unlocks kf.
func (r *runner) readMasterKeys(ctx context.Context) (*keyFile, *envelope.KeySet, error) {
	kf, err := r.lockMasterKey(ctx)
	if err != nil {
		return nil, nil, err
	}
	ks, err := kf.read()
	if err != nil {
		kf.unlock()
		return nil, nil, err
	}
	return kf, ks, nil
}

type masterKeyInfo struct {
	KID    string `json:"kid"`
	Active bool   `json:"active"`
	Sealed int    `json:"sealed"`
	Tagged int    `json:"tagged"`
}

// keyInUse says what in raw still needs master key kid ("" when
// nothing): sealed values, record tags.
func keyInUse(raw *store.Snapshot, kid string) string {
	sealed, tags := keyUse(raw)
	switch s, t := sealed[kid], tags[kid]; {
	case s > 0 && t > 0:
		return fmt.Sprintf("%d stored value(s) are still sealed under master key %q, and %d record(s) tagged under it", s, kid, t)
	case s > 0:
		return fmt.Sprintf("%d stored value(s) are still sealed under master key %q", s, kid)
	case t > 0:
		return fmt.Sprintf("%d record(s) are still tagged under master key %q", t, kid)
	}
	return ""
}

// keyUse counts, by master key id, the sealed values and the record tags
// of raw.
func keyUse(raw *store.Snapshot) (sealed, tagged map[string]int) {
	return state.SealedKeyIDs(recordauth.Strip(raw)), recordauth.KeyIDs(raw)
}

func runMasterKeyShow(ctx context.Context, r *runner, _ []string) error {
	kf, ks, err := r.readMasterKeys(ctx)
	if err != nil {
		return err
	}
	defer kf.unlock()
	st, _, err := r.open(ctx)
	if err != nil {
		return err
	}
	snap, err := st.Load(ctx)
	if err != nil {
		return err
	}
	counts, tags := keyUse(snap)
	out := struct {
		File     string          `json:"file"`
		Active   string          `json:"active"`
		Keys     []masterKeyInfo `json:"keys"`
		Unlisted map[string]int  `json:"unlisted"`
	}{File: kf.path, Active: ks.Active(), Keys: []masterKeyInfo{}, Unlisted: map[string]int{}}
	for _, kid := range ks.IDs() {
		out.Keys = append(out.Keys, masterKeyInfo{KID: kid, Active: kid == ks.Active(), Sealed: counts[kid], Tagged: tags[kid]})
		delete(counts, kid)
		delete(tags, kid)
	}
	for kid, n := range counts {
		out.Unlisted[kid] = n
	}
	for kid, n := range tags {
		out.Unlisted[kid] += n
	}
	return r.printJSON(out)
}

func runMasterKeyAdd(ctx context.Context, r *runner, kid string) error {
	kf, ks, err := r.readMasterKeys(ctx)
	if err != nil {
		return err
	}
	defer kf.unlock()
	if kid == "" {
		kid = nextMasterKID(ks.IDs())
	}
	if err := ks.Add(kid, r.cfg.Rand); err != nil {
		return usagef("master-key add: %v", err)
	}
	if err := kf.write(ks); err != nil {
		return err
	}
	r.say("master key %s added to %s: it opens but does not seal yet (%s still seals)", kid, kf.path, ks.Active())
	r.say("next: copy %s to every node (nodes re-read it on SIGHUP; restart those fed it by LoadCredential=), then run: %s", kf.path, r.ctlHint("master-key", "rotate", "--to", kid))
	return nil
}

func runMasterKeyRotate(ctx context.Context, r *runner, to string, keepOld bool) error {
	kf, ks, err := r.readMasterKeys(ctx)
	if err != nil {
		return err
	}
	defer kf.unlock()
	st, _, err := r.open(ctx)
	if err != nil {
		return err
	}
	old := ks.Active()
	target := to
	if target == "" {
		target = nextMasterKID(ks.IDs())
		if err := ks.Add(target, r.cfg.Rand); err != nil {
			return err
		}
		// Durable before anything sealed under it reaches the store.
		if err := kf.write(ks); err != nil {
			return err
		}
		r.say("master key %s generated and listed in %s", target, kf.path)
		if err := r.step("staged"); err != nil {
			return err
		}
	} else if !ks.Has(target) {
		return fmt.Errorf("%w: master key %q is not listed in %s (list a new key with: %s)", state.ErrNotFound, target, kf.path, r.ctlHint("master-key", "add"))
	}
	if err := ks.Activate(target); err != nil {
		return err
	}
	kr, err := ks.Keyring()
	if err != nil {
		return err
	}
	var n int
	auth := st.WithKeys(kr)
	rev, err := auth.WithRetag(recordauth.DefaultBatch).Update(ctx, state.Reseal(kr, &n))
	if err != nil {
		return fmt.Errorf("re-seal under master key %s: %w; nothing in the store changed and %s still seals; %s stays listed: to try again, run: %s",
			target, err, old, target, r.ctlHint("master-key", "rotate", "--to", target))
	}
	r.say("%d sealed value(s) re-sealed under master key %s in one change (revision %d)", n, target, rev)
	if err := r.step("resealed"); err != nil {
		return err
	}
	if err := r.retag(ctx, auth, target); err != nil {
		return err
	}
	if err := kf.write(ks); err != nil {
		return fmt.Errorf("the store is sealed under %s but %s could not be updated (it lists both keys, so everything still opens): %w; run again: %s",
			target, kf.path, err, r.ctlHint("master-key", "rotate", "--to", target))
	}
	r.say("master key %s is active in %s", target, kf.path)
	if err := r.step("activated"); err != nil {
		return err
	}
	if !keepOld {
		if err := r.retireUnused(ctx, kf, ks); err != nil {
			return err
		}
	}
	if others := ks.IDs()[1:]; len(others) > 0 {
		r.say("still listed (opens only): %s; retire each with: %s", strings.Join(others, ", "), r.ctlHint("master-key", "retire", others[0]))
	}
	r.say("nodes whose key file lists %s follow at once; copy %s to the others (they re-read it by themselves; restart those fed it by LoadCredential=)", target, kf.path)
	return nil
}

// retireUnused unlists every non-active key that no stored value is sealed
// under, reading the store after the re-seal committed. A key still in use
// (a concurrent writer with the old key file) stays listed.
func (r *runner) retireUnused(ctx context.Context, kf *keyFile, ks *envelope.KeySet) error {
	st, _, err := r.open(ctx)
	if err != nil {
		return err
	}
	snap, err := st.Load(ctx)
	if err != nil {
		return fmt.Errorf("check before retiring the old key (it stays listed, nothing is lost): %w", err)
	}
	var retired []string
	for _, kid := range ks.IDs()[1:] {
		if inUse := keyInUse(snap, kid); inUse != "" {
			r.say("master key %s kept: %s (written meanwhile with the old key file?); run again: %s",
				kid, inUse, r.ctlHint("master-key", "rotate", "--to", ks.Active()))
			continue
		}
		if err := ks.Remove(kid); err != nil {
			return err
		}
		retired = append(retired, kid)
	}
	if len(retired) == 0 {
		return nil
	}
	if err := kf.write(ks); err != nil {
		return fmt.Errorf("retire %s (still listed, nothing is lost): %w", strings.Join(retired, ", "), err)
	}
	r.say("retired master key(s) %s: removed from %s", strings.Join(retired, ", "), kf.path)
	return r.step("retired")
}

// retag moves every record tag to the active master key target, in
// changes of at most recordauth.DefaultBatch records; each change verifies
// on its own, so stopping half-way loses nothing (running rotate again
// goes on).
func (r *runner) retag(ctx context.Context, auth *recordauth.Store, target string) error {
	total := 0
	for {
		n, err := auth.Retag(ctx, recordauth.DefaultBatch)
		if err != nil {
			return fmt.Errorf("re-tag records under master key %s: %w; run it again: %s", target, err, r.ctlHint("master-key", "rotate", "--to", target))
		}
		if n == 0 {
			break
		}
		total += n
	}
	if total > 0 {
		r.say("%d more record(s) re-tagged under master key %s", total, target)
	}
	return r.step("retagged")
}

func runMasterKeyRetire(ctx context.Context, r *runner, kid string) error {
	kf, ks, err := r.readMasterKeys(ctx)
	if err != nil {
		return err
	}
	defer kf.unlock()
	if !ks.Has(kid) {
		return fmt.Errorf("%w: master key %q is not listed in %s", state.ErrNotFound, kid, kf.path)
	}
	if ks.Active() == kid {
		return fmt.Errorf("%w: master key %q is the active key; rotate to another first", state.ErrRefused, kid)
	}
	st, _, err := r.open(ctx)
	if err != nil {
		return err
	}
	snap, err := st.Load(ctx)
	if err != nil {
		return err
	}
	if inUse := keyInUse(snap, kid); inUse != "" {
		return fmt.Errorf("%w: %s; re-seal them first: %s", state.ErrRefused, inUse, r.ctlHint("master-key", "rotate", "--to", ks.Active()))
	}
	if err := ks.Remove(kid); err != nil {
		return err
	}
	if err := kf.write(ks); err != nil {
		return err
	}
	r.say("master key %s retired: removed from %s", kid, kf.path)
	return nil
}
