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
	// Approved, when not nil, are the only records without a tag that
	// may be tagged (those an operator reviewed); another is refused.
	Approved map[string]bool
	// Repair also removes every record that does not verify (forged, or
	// a genuine record added back or replayed), and accepts that records
	// the manifest lists are gone. Without it such a store is refused.
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

// Authenticate is the mutation of `attestctl store authenticate`: it tags
// the records that carry no tag (a store written before record
// authentication, or records an older attestctl wrote), at most
// o.Batch per change, and rewrites the manifest over every record that
// verifies. A record tagged under a master key not held is always refused.
// A forged, added, replayed or removed record is refused unless o.Repair,
// which removes the first three and accepts the removal of the fourth.
// On a store that verifies (and no MinGeneration above its generation) it
// changes nothing.
func Authenticate(keys Keys, o AuthOptions) Mutation {
	if o.Batch <= 0 {
		o.Batch = DefaultBatch
	}
	return func(raw *store.Snapshot) (store.Changes, error) {
		if raw == nil {
			raw = &store.Snapshot{}
		}
		s := inspect(raw, keys)
		plan, err := planAuth(s, o)
		if err != nil {
			return store.Changes{}, err
		}
		if o.Outcome != nil {
			*o.Outcome = Outcome{}
		}
		if len(plan.tag) == 0 && len(plan.remove) == 0 && s.man != nil && len(s.problems) == 0 && o.MinGeneration <= s.man.Generation {
			return store.Changes{}, nil
		}
		return plan.apply(keys, raw, s, o)
	}
}

type authPlan struct {
	tag, remove []string
	gen         uint64
}

// planAuth sorts the survey's problems into what to tag and what to
// remove, refusing what Authenticate must not fix.
func planAuth(s *survey, o AuthOptions) (*authPlan, error) {
	p := &authPlan{gen: max(o.MinGeneration, 1)}
	if s.man != nil {
		p.gen = max(p.gen, s.man.Generation+1)
	}
	for _, g := range s.gens {
		p.gen = max(p.gen, g+1)
	}
	var refused []Problem
	for _, pr := range s.problems {
		switch {
		case pr.Kind == KindUntagged && pr.Key != ManifestKey:
			if o.Approved != nil && !o.Approved[pr.Key] {
				refused = append(refused, Problem{Key: pr.Key, Kind: pr.Kind, Detail: "appeared without a tag since the review; run the command again"})
				continue
			}
			p.tag = append(p.tag, pr.Key)
		case pr.Kind == KindNoManifest:
		case pr.Kind == KindUnknownKey:
			refused = append(refused, pr)
		case !o.Repair:
			refused = append(refused, pr)
		case pr.Key != ManifestKey && (pr.Kind == KindForged || pr.Kind == KindAdded || pr.Kind == KindReplayed):
			p.remove = append(p.remove, pr.Key)
		}
	}
	if len(refused) > 0 {
		e := &Error{Class: (&survey{problems: refused}).err().Class, Problems: refused}
		return nil, fmt.Errorf("not authenticated: %w (with --repair such records are removed; a master key not held must be added to the key file)", e)
	}
	return p, nil
}

// apply writes one batch of the plan and the manifest over every record
// that verifies after it.
func (p *authPlan) apply(keys Keys, raw *store.Snapshot, s *survey, o AuthOptions) (store.Changes, error) {
	tags := maps.Clone(s.tags)
	ch := store.Changes{Put: map[string][]byte{}}
	out := Outcome{Generation: p.gen}
	budget := o.Batch
	for _, k := range p.remove {
		if budget == 0 {
			break
		}
		ch.Delete = append(ch.Delete, k)
		delete(tags, k)
		out.Removed = append(out.Removed, k)
		budget--
	}
	for _, k := range p.tag {
		if budget == 0 {
			break
		}
		v, t, err := tagRecord(keys, k, p.gen, raw.Entries[k].Value)
		if err != nil {
			return store.Changes{}, err
		}
		ch.Put[k], tags[k] = v, t
		out.Tagged = append(out.Tagged, k)
		budget--
	}
	out.Remaining = len(p.remove) + len(p.tag) - len(out.Removed) - len(out.Tagged)
	m, _, err := encodeManifest(keys, p.gen, tags)
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
