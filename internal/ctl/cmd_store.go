package ctl

import (
	"context"
	"flag"
	"fmt"
	"strings"

	"github.com/attestd/attestd/internal/recordauth"
	"github.com/attestd/attestd/internal/state"
	"github.com/attestd/attestd/store"
)

func storeCommands() []*command {
	return []*command{{
		name:    "store verify",
		args:    "",
		summary: "check that every record of the store is authenticated under the master key; print the report as JSON",
		help: `Every record attestctl writes carries a tag (an HMAC under a key derived
from the master key) and the store's manifest lists every record with the
generation that wrote it; nodes refuse a store state that does not verify.
This command checks the store as a node would and prints every record that
does not verify: "untagged" (written before attestd 1.1, or without the
master key), "forged" (edited, or tagged without the master key),
"added", "replayed", "removed" (the records are not those the manifest
lists), "unknown_key" (tagged under a master key the key file does not
list). Exit status 1 when anything does not verify.`,
		maxArgs: 0,
		setup:   func(*flag.FlagSet) action { return runStoreVerify },
	}, {
		name:    "store authenticate",
		args:    "[--yes] [--repair] [--min-generation N]",
		summary: "authenticate the records of a store written before attestd 1.1 (the upgrade), or repair one that does not verify",
		help: `Tags every record that carries no tag under the master key and writes the
manifest, in changes of at most 100 records (etcd's --max-txn-ops). This is
the upgrade of a store written by attestd 1.0: nodes of 1.1 refuse to serve
records they cannot authenticate. It blesses the records as they are now,
so check them first (attestctl export, or your source of truth): without
--yes it only lists what it would tag, and exits with status 2; with --yes
it tags those records, and refuses any record that appears without a tag
meanwhile. The records must decode and open with this master key file. An
upgrade that stops half-way (a crash, a timeout) lists what it still has
to tag in the manifest: run the command again.

Only a store with no tag at all is upgraded. A store that has tags and
does not verify (a record forged, added, replayed, removed, or written
without a tag, without the master key) is refused unless --repair: that
removes every record that does not verify (restore them from your source
of truth after) and accepts that the removed ones are gone. It never tags
a record it finds without a tag in such a store.

--min-generation N writes the manifest at generation N at least: after a
store was rolled back (restored from an old backup, or by an attacker),
nodes refuse every state below the generation they accepted last; re-apply
your changes, then run this with N above that generation (the nodes' logs
and attestd_store_generation say it).

Running it on a store that verifies changes nothing.`,
		maxArgs: 0,
		setup: func(fs *flag.FlagSet) action {
			yes := fs.Bool("yes", false, "really write (without it, only say what would be tagged or removed)")
			repair := fs.Bool("repair", false, "remove records that do not verify, and accept removed ones as gone")
			minGen := fs.Uint64("min-generation", 0, "write the manifest at this generation at least")
			return func(ctx context.Context, r *runner, _ []string) error {
				return runStoreAuthenticate(ctx, r, *yes, recordauth.AuthOptions{Repair: *repair, MinGeneration: *minGen})
			}
		},
	}}
}

func runStoreVerify(ctx context.Context, r *runner, _ []string) error {
	st, kr, err := r.open(ctx)
	if err != nil {
		return err
	}
	raw, err := st.Load(ctx)
	if err != nil {
		return err
	}
	rep := recordauth.Inspect(raw, kr)
	if err := r.printJSON(rep); err != nil {
		return err
	}
	if len(rep.Problems) > 0 {
		return fmt.Errorf("the store does not verify: %d record(s): %s", len(rep.Problems), summary(rep.Problems))
	}
	return nil
}

// summary counts problems by kind.
func summary(ps []recordauth.Problem) string {
	n := map[recordauth.Kind]int{}
	var order []string
	for _, p := range ps {
		if n[p.Kind] == 0 {
			order = append(order, string(p.Kind))
		}
		n[p.Kind]++
	}
	parts := make([]string, len(order))
	for i, k := range order {
		parts[i] = fmt.Sprintf("%d %s", n[recordauth.Kind(k)], k)
	}
	return strings.Join(parts, ", ")
}

func runStoreAuthenticate(ctx context.Context, r *runner, yes bool, o recordauth.AuthOptions) error {
	st, kr, err := r.open(ctx)
	if err != nil {
		return err
	}
	raw, err := st.Load(ctx)
	if err != nil {
		return err
	}
	plan, err := recordauth.PlanAuthentication(raw, kr, o)
	if err != nil {
		return fmt.Errorf("%w: nothing written: %w", state.ErrRefused, err)
	}
	if plan.Nothing {
		rep := recordauth.Inspect(raw, kr)
		r.say("the store verifies: %d record(s) at generation %d; nothing to do", rep.Records, rep.Generation)
		return nil
	}
	if err := opensWithKey(raw, plan.Remove, kr); err != nil {
		return err
	}
	if !yes {
		return usagef("nothing written: %s; check them, then run again with --yes", describePlan(plan))
	}
	o.Approved = map[string]bool{}
	for _, k := range plan.Tag {
		o.Approved[k] = true
	}
	return r.authenticate(ctx, st, kr, o, len(plan.Tag)+len(plan.Remove))
}

// opensWithKey checks that the records kept decode and open with kr: a
// wrong --master-key would otherwise tag every record under a key the
// nodes do not hold.
func opensWithKey(raw *store.Snapshot, remove []string, kr state.Sealer) error {
	kept := recordauth.Strip(raw)
	for _, k := range remove {
		delete(kept.Entries, k)
	}
	if _, err := state.DecodeAll(kept, kr); err != nil {
		return fmt.Errorf("the records do not decode or open with this master key file (the right --master-key?): %w; nothing written", err)
	}
	return nil
}

func describePlan(p *recordauth.Plan) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d record(s) would be tagged under the master key", len(p.Tag))
	if len(p.Tag) > 0 {
		fmt.Fprintf(&b, " (%s)", strings.Join(p.Tag, ", "))
	}
	if len(p.Remove) > 0 {
		fmt.Fprintf(&b, ", %d removed (%s)", len(p.Remove), strings.Join(p.Remove, ", "))
	}
	fmt.Fprintf(&b, ", and the manifest written at generation %d", p.Generation)
	return b.String()
}

// authenticate runs recordauth.Authenticate until nothing is left, one
// change per batch (records bounds how many batches that takes), and
// checks the result.
func (r *runner) authenticate(ctx context.Context, st *recordauth.Store, kr recordauth.Keys, o recordauth.AuthOptions, records int) error {
	var tagged, removed int
	for round := 0; ; round++ {
		var out recordauth.Outcome
		o.Outcome = &out
		rev, err := st.Unwrap().Update(ctx, recordauth.Authenticate(kr, o))
		if err != nil {
			return fmt.Errorf("authenticate: %w (what was written before stays authenticated; run the command again)", err)
		}
		tagged, removed = tagged+len(out.Tagged), removed+len(out.Removed)
		if out.Generation > 0 {
			r.say("generation %d: %d record(s) tagged, %d removed (revision %d)", out.Generation, len(out.Tagged), len(out.Removed), rev)
		}
		if out.Remaining == 0 {
			break
		}
		if round > records/recordauth.DefaultBatch+1 {
			return fmt.Errorf("authenticate: %d record(s) still left after %d changes (does the store keep changing?); run the command again", out.Remaining, round+1)
		}
	}
	raw, err := st.Load(ctx)
	if err != nil {
		return err
	}
	res, err := recordauth.Verify(raw, kr, recordauth.Floor{})
	if err != nil {
		return fmt.Errorf("the store still does not verify (changed meanwhile?): %w; run the command again", err)
	}
	r.say("the store is authenticated: %d record(s) at generation %d (%d tagged, %d removed); nodes apply it within 2 seconds",
		len(res.Snapshot.Entries), res.Floor.Generation, tagged, removed)
	return nil
}
