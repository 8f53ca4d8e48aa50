package recordauth

import (
	"fmt"
	"maps"
	"slices"

	"github.com/attestd/attestd/store"
)

// DefaultBatch is how many records one change of Authenticate tags or
// removes: with the manifest and the etcd store's own key it stays under
// etcd's default --max-txn-ops (128).
const DefaultBatch = 100

// Report is what Inspect finds: the state of a store's authentication.
type Report struct {
	// Generation is the manifest's, when its tag verifies (else 0).
	Generation uint64 `json:"generation"`
	// Records counts the records besides the manifest.
	Records int `json:"records"`
	// KeyIDs counts the tags (manifest included) by master key id.
	KeyIDs map[string]int `json:"key_ids"`
	// Problems is every record that does not verify, in key order (none:
	// the store verifies).
	Problems []Problem `json:"problems"`
}

// Inspect checks raw as Verify does (without a floor) and reports every
// problem. Nothing in it is secret.
func Inspect(raw *store.Snapshot, keys Keys) Report {
	if raw == nil {
		raw = &store.Snapshot{}
	}
	s := inspect(raw, keys)
	r := Report{KeyIDs: s.kids, Problems: s.problems, Records: len(raw.Entries)}
	if _, ok := raw.Entries[ManifestKey]; ok {
		r.Records--
	}
	if s.man != nil {
		r.Generation = s.man.Generation
	}
	if r.Problems == nil {
		r.Problems = []Problem{}
	}
	return r
}

// AuthOptions configure Authenticate.
type AuthOptions struct {
	// Approved are the records without a tag of a store without a
	// manifest (written before record authentication) that may be tagged:
	// those an operator reviewed. Any other is refused. Records an
	// interrupted run left to tag (the manifest lists them) need none.
	Approved map[string]bool
	// Repair also removes every record that does not verify (forged; a
	// genuine record added back or replayed; a record without a tag in a
	// store that has a manifest) and accepts that records the manifest
	// lists are gone. Without it such a store is refused.
	Repair bool
	// MinGeneration: the change's generation is at least this (to pass
	// the generation nodes accepted before a store was rolled back).
	MinGeneration uint64
	// Batch bounds the records tagged or removed by one change (0:
	// DefaultBatch).
	Batch int
	// Outcome, when set, receives what the change does.
	Outcome *Outcome
}

// Outcome is what one change of Authenticate does.
type Outcome struct {
	Tagged, Removed []string
	// Remaining counts the records left for a later change (call
	// Authenticate again while it is above 0).
	Remaining  int
	Generation uint64
}

// Plan is what Authenticate would do to a store.
type Plan struct {
	// Tag are the records to tag; Remove those to remove (Repair).
	Tag, Remove []string
	// Generation is the first generation it would write.
	Generation uint64
	// Nothing is true when the store verifies and nothing is to be done.
	Nothing bool
}

// PlanAuthentication says what Authenticate with o would do to raw, or
// why it refuses: a record tagged under a master key not held, always; a
// forged, added, replayed or removed record, or one without a tag in a
// store that has a manifest, unless o.Repair; a record without a tag that
// o.Approved does not list (when not nil).
func PlanAuthentication(raw *store.Snapshot, keys Keys, o AuthOptions) (*Plan, error) {
	if raw == nil {
		raw = &store.Snapshot{}
	}
	return planAuth(inspect(raw, keys), o)
}

func planAuth(s *survey, o AuthOptions) (*Plan, error) {
	p := &Plan{Generation: max(o.MinGeneration, 1)}
	var g uint64
	if s.man != nil {
		g = s.man.Generation
		p.Generation = max(p.Generation, g+1)
	}
	p.Nothing = len(s.problems) == 0 && o.MinGeneration <= g
	for _, g := range s.gens {
		p.Generation = max(p.Generation, g+1)
	}
	// A store without any tag, manifest included, is a store written
	// before record authentication: its records may be tagged (approved).
	// Anything else that does not verify is damage: refused, or repaired.
	legacy := s.man == nil && len(s.kids) == 0
	var refused []Problem
	for _, pr := range s.problems {
		switch {
		case pr.Kind == KindNoManifest && legacy:
		case pr.Kind == KindPending:
			p.Tag = append(p.Tag, pr.Key)
		case pr.Kind == KindUntagged && legacy:
			if o.Approved != nil && !o.Approved[pr.Key] {
				refused = append(refused, Problem{Key: pr.Key, Kind: pr.Kind, Detail: "appeared without a tag since the review; run the command again"})
				continue
			}
			p.Tag = append(p.Tag, pr.Key)
		case pr.Kind == KindUnknownKey || !o.Repair:
			refused = append(refused, pr)
		case pr.Key == ManifestKey:
			// Repair: the manifest is rewritten over what verifies.
		case pr.Kind == KindForged || pr.Kind == KindAdded || pr.Kind == KindReplayed || pr.Kind == KindUntagged:
			p.Remove = append(p.Remove, pr.Key)
		}
	}
	if len(refused) > 0 {
		e := &Error{Class: (&survey{problems: refused}).err().Class, Problems: refused}
		return nil, fmt.Errorf("not authenticated: %w (with --repair such records are removed; a master key not held must be added to the key file)", e)
	}
	return p, nil
}

// Authenticate is the mutation of `attestctl store authenticate`: it does
// what PlanAuthentication says, at most o.Batch records per change, each
// change writing the manifest over every record that verifies after it
// (and, as pending, the records still to tag). Call it again while
// Outcome.Remaining is above 0. On a store that verifies (and no
// MinGeneration above its generation) it changes nothing.
func Authenticate(keys Keys, o AuthOptions) Mutation {
	if o.Batch <= 0 {
		o.Batch = DefaultBatch
	}
	return func(raw *store.Snapshot) (store.Changes, error) {
		if raw == nil {
			raw = &store.Snapshot{}
		}
		if o.Outcome != nil {
			*o.Outcome = Outcome{}
		}
		s := inspect(raw, keys)
		plan, err := planAuth(s, o)
		if err != nil || plan.Nothing {
			return store.Changes{}, err
		}
		return plan.apply(keys, raw, s, o)
	}
}

// apply writes one batch of the plan and the manifest over every record
// that verifies after it; the records left to tag are listed as pending.
func (p *Plan) apply(keys Keys, raw *store.Snapshot, s *survey, o AuthOptions) (store.Changes, error) {
	tags := maps.Clone(s.tags)
	ch := store.Changes{Put: map[string][]byte{}}
	out := Outcome{Generation: p.Generation}
	budget := o.Batch
	for _, k := range p.Remove {
		if budget == 0 {
			break
		}
		ch.Delete = append(ch.Delete, k)
		delete(tags, k)
		out.Removed = append(out.Removed, k)
		budget--
	}
	for _, k := range p.Tag {
		if budget == 0 {
			break
		}
		v, t, err := tagRecord(keys, k, p.Generation, raw.Entries[k].Value)
		if err != nil {
			return store.Changes{}, err
		}
		ch.Put[k], tags[k] = v, t
		out.Tagged = append(out.Tagged, k)
		budget--
	}
	out.Remaining = len(p.Remove) + len(p.Tag) - len(out.Removed) - len(out.Tagged)
	m, _, err := encodeManifest(keys, p.Generation, tags, p.Tag[len(out.Tagged):]...)
	if err != nil {
		return store.Changes{}, err
	}
	ch.Put[ManifestKey] = m
	slices.Sort(ch.Delete)
	if o.Outcome != nil {
		*o.Outcome = out
	}
	return ch, nil
}
