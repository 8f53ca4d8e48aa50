package recordauth

import (
	"errors"
	"fmt"
	"slices"

	"github.com/attestd/attestd/crypto/envelope"
	"github.com/attestd/attestd/store"
)

// survey is what inspect finds in a raw snapshot.
type survey struct {
	// man is the manifest when its tag verified (nil otherwise).
	man       *manifest
	manDigest [32]byte
	manKID    string
	// tags, bodies and gens hold every record (not the manifest) whose
	// tag verified: its tag string, its body (the record is body + "}"),
	// the generation its tag names.
	tags   map[string]string
	bodies map[string][]byte
	gens   map[string]uint64
	// kids counts the tags that parse, manifest included, by master key.
	kids     map[string]int
	problems []Problem
}

func (s *survey) add(key string, k Kind, format string, args ...any) {
	s.problems = append(s.problems, Problem{Key: key, Kind: k, Detail: fmt.Sprintf(format, args...)})
}

// inspect checks every record of raw and the manifest against each other.
// Its cost is one HMAC over every record and the manifest: it runs when a
// change arrives, never per request.
func inspect(raw *store.Snapshot, keys Keys) *survey {
	n := len(raw.Entries)
	s := &survey{tags: make(map[string]string, n), bodies: make(map[string][]byte, n),
		gens: make(map[string]uint64, n), kids: map[string]int{}}
	if e, ok := raw.Get(ManifestKey); ok {
		s.inspectManifest(e.Value, keys)
	} else if n > 0 {
		s.add(ManifestKey, KindNoManifest, "no manifest: the store was written without record authentication")
	}
	keysSorted := make([]string, 0, n)
	for k := range raw.Entries {
		if k != ManifestKey {
			keysSorted = append(keysSorted, k)
		}
	}
	slices.Sort(keysSorted)
	for _, k := range keysSorted {
		s.inspectRecord(k, raw.Entries[k].Value, keys)
	}
	if s.man == nil {
		return s
	}
	for _, k := range sortedKeys(s.man.Records) {
		if _, ok := raw.Entries[k]; !ok {
			s.add(k, KindRemoved, "removed: the manifest (generation %d) lists it at generation %d", s.man.Generation, s.man.Records[k])
		}
	}
	for _, k := range s.man.Pending {
		if _, ok := raw.Entries[k]; !ok {
			s.add(k, KindRemoved, "removed: the manifest (generation %d) lists it as still to be tagged", s.man.Generation)
		}
	}
	if len(s.problems) == 0 && digest(s.tags) != s.manDigest {
		s.add(ManifestKey, KindSubstituted, "the records' tags do not match the manifest's digest: a record was replaced by another genuine copy")
	}
	return s
}

// inspectManifest verifies the manifest's tag and decodes it.
func (s *survey) inspectManifest(v []byte, keys Keys) {
	if len(v) > MaxManifestBytes {
		s.add(ManifestKey, KindForged, "the manifest is %d bytes, over %d", len(v), MaxManifestBytes)
		return
	}
	body, ts, ok := split(v)
	if !ok {
		s.add(ManifestKey, KindUntagged, "the manifest has no tag")
		return
	}
	t, err := parseTag(ts)
	if err != nil {
		s.add(ManifestKey, KindForged, "the manifest's tag is malformed: %v", err)
		return
	}
	s.kids[t.kid]++
	if kind, detail := tagProblem(checkTag(keys, t, ManifestKey, body)); kind != "" {
		s.add(ManifestKey, kind, "the manifest %s", detail)
		return
	}
	m, d, err := decodeManifest(body, t.gen)
	if err != nil {
		// Genuine bytes that do not decode: a writer's bug, or a format of
		// a later version. Either way nothing here can be trusted.
		s.add(ManifestKey, KindForged, "%v", err)
		return
	}
	s.man, s.manDigest, s.manKID = m, d, t.kid
}

// inspectRecord verifies one record's tag and its place in the manifest.
func (s *survey) inspectRecord(k string, v []byte, keys Keys) {
	if len(v) > MaxRecordBytes {
		s.add(k, KindForged, "%d bytes, over %d", len(v), MaxRecordBytes)
		return
	}
	body, ts, ok := split(v)
	switch {
	case ok:
	case s.man != nil && slices.Contains(s.man.Pending, k):
		s.add(k, KindPending, "not tagged yet: an interrupted `attestctl store authenticate` (run it again)")
		return
	case s.man != nil:
		s.add(k, KindUntagged, "no tag in an authenticated store: written without the master key, or by an attestctl older than 1.1")
		return
	default:
		s.add(k, KindUntagged, "no tag: written without the master key, or by an attestctl older than 1.1")
		return
	}
	t, err := parseTag(ts)
	if err != nil {
		s.add(k, KindForged, "malformed tag: %v", err)
		return
	}
	s.kids[t.kid]++
	if kind, detail := tagProblem(checkTag(keys, t, k, body)); kind != "" {
		s.add(k, kind, "%s", detail)
		return
	}
	s.tags[k], s.bodies[k], s.gens[k] = ts, body, t.gen
	if s.man == nil {
		return
	}
	switch g, listed := s.man.Records[k]; {
	case !listed:
		s.add(k, KindAdded, "added: a genuine record of generation %d that the manifest (generation %d) does not list", t.gen, s.man.Generation)
	case g != t.gen:
		s.add(k, KindReplayed, "replayed: the copy written at generation %d, where the manifest lists generation %d", t.gen, g)
	}
}

// tagProblem classifies checkTag's error.
func tagProblem(err error) (Kind, string) {
	switch {
	case err == nil:
		return "", ""
	case errors.Is(err, envelope.ErrUnknownKey):
		return KindUnknownKey, "is tagged under a master key the key file does not list"
	case errors.Is(err, errBadMAC):
		return KindForged, "tag does not verify: edited, or tagged without the master key"
	}
	return KindForged, fmt.Sprintf("tag cannot be checked: %v", err)
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}
