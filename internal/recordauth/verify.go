package recordauth

import (
	"fmt"
	"maps"

	"github.com/attestd/attestd/store"
)

// Floor is the newest state a node has accepted: it refuses an older
// generation, and another digest at the same generation. The zero Floor
// accepts any generation (a writer, or a node's first load).
type Floor struct {
	Generation uint64
	Digest     [32]byte
}

// Result is a snapshot that verified.
type Result struct {
	// Snapshot holds the records without their tags, exactly the bytes
	// the MACs cover, at the raw snapshot's revision; the manifest is not
	// in it. It shares nothing with the raw snapshot.
	Snapshot *store.Snapshot
	// Floor is the manifest's generation and digest (zero for an empty
	// store without a manifest).
	Floor Floor
	// tags are the verified records' tag strings (for writers).
	tags map[string]string
	// kids counts the tags by master key id, manifest included.
	kids map[string]int
}

// Verify checks every record of raw (see the package doc) with keys and
// returns its records stripped of their tags. An empty store without a
// manifest verifies, at generation 0, unless floor is above 0. Any other
// snapshot without a manifest, or with a record that does not verify, is
// an *Error whose Class says why (ErrForged, ErrMismatch,
// ErrUnauthenticated, ErrUnknownKey), as is a manifest older than floor
// (ErrRollback). raw is not modified.
func Verify(raw *store.Snapshot, keys Keys, floor Floor) (*Result, error) {
	if raw == nil {
		raw = &store.Snapshot{}
	}
	if _, ok := raw.Get(ManifestKey); !ok && len(raw.Entries) == 0 {
		if floor.Generation > 0 {
			return nil, &Error{Class: ErrRollback, Problems: []Problem{{Key: ManifestKey, Kind: KindRemoved,
				Detail: "the store is empty: every record and the manifest were removed"}}}
		}
		return &Result{Snapshot: &store.Snapshot{Revision: raw.Revision, Entries: map[string]store.Entry{}},
			tags: map[string]string{}, kids: map[string]int{}}, nil
	}
	s := inspect(raw, keys)
	if s.man != nil {
		if err := checkFloor(s, floor); err != nil {
			return nil, err
		}
	}
	if len(s.problems) > 0 {
		return nil, s.err()
	}
	res := &Result{Floor: Floor{Generation: s.man.Generation, Digest: s.manDigest}, tags: s.tags, kids: s.kids}
	res.Snapshot = &store.Snapshot{Revision: raw.Revision, Entries: make(map[string]store.Entry, len(s.bodies))}
	for k, body := range s.bodies {
		res.Snapshot.Entries[k] = store.Entry{Value: closeBody(body), ModRevision: raw.Entries[k].ModRevision}
	}
	return res, nil
}

func checkFloor(s *survey, floor Floor) error {
	g := s.man.Generation
	switch {
	case g < floor.Generation:
		return &Error{Class: ErrRollback, Generation: g, Problems: []Problem{{Key: ManifestKey, Kind: KindReplayed,
			Detail: fmt.Sprintf("the manifest is generation %d, older than generation %d already accepted", g, floor.Generation)}}}
	case g == floor.Generation && g > 0 && s.manDigest != floor.Digest:
		return &Error{Class: ErrRollback, Generation: g, Problems: []Problem{{Key: ManifestKey, Kind: KindSubstituted,
			Detail: fmt.Sprintf("another store state at generation %d, which this node accepted with other records", g)}}}
	}
	return nil
}

// err is the *Error of the survey's problems: the class of the gravest.
func (s *survey) err() *Error {
	e := &Error{Class: ErrUnknownKey, Problems: s.problems}
	if s.man != nil {
		e.Generation = s.man.Generation
	}
	rank := map[error]int{ErrForged: 4, ErrMismatch: 3, ErrUnauthenticated: 2, ErrUnknownKey: 1}
	for _, p := range s.problems {
		if c := p.Kind.class(); rank[c] > rank[e.Class] {
			e.Class = c
		}
	}
	return e
}

// Strip returns raw's records without their tags, checking nothing: for
// a view of a store that does not verify (attestctl's reads, which say
// so), and for registries built without record authentication (tests).
// A record without a tag is kept as it is; the manifest is left out.
func Strip(raw *store.Snapshot) *store.Snapshot {
	if raw == nil {
		return nil
	}
	out := &store.Snapshot{Revision: raw.Revision, Entries: make(map[string]store.Entry, len(raw.Entries))}
	for k, e := range raw.Entries {
		if k == ManifestKey {
			continue
		}
		if body, _, ok := split(e.Value); ok {
			e.Value = closeBody(body)
		}
		out.Entries[k] = e
	}
	return out
}

// KeyIDs counts the tags of raw (manifest included) by the master key
// they name, without verifying them: a master key that tags a record
// cannot be retired yet.
func KeyIDs(raw *store.Snapshot) map[string]int {
	out := map[string]int{}
	if raw == nil {
		return out
	}
	for _, e := range raw.Entries {
		if _, ts, ok := split(e.Value); ok {
			if t, err := parseTag(ts); err == nil {
				out[t.kid]++
			}
		}
	}
	return out
}

// KeyIDs counts the verified tags by master key id.
func (r *Result) KeyIDs() map[string]int { return maps.Clone(r.kids) }

func closeBody(body []byte) []byte {
	out := make([]byte, len(body)+1)
	copy(out, body)
	out[len(body)] = '}'
	return out
}
