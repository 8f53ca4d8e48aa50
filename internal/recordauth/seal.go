package recordauth

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"slices"

	"github.com/attestd/attestd/store"
)

// sealOptions tune seal beyond the caller's changes.
type sealOptions struct {
	// retag re-tags up to this many records, not otherwise changed, whose
	// tag names a master key other than the active one.
	retag int
	// minGen: the change's generation is at least this.
	minGen uint64
	// retagged, when set, receives how many were re-tagged.
	retagged *int
}

// seal turns ch, computed from the verified state res, into the change to
// write: every record it puts tagged at the next generation under the
// active key, and the manifest rewritten over the records as they will be.
func seal(keys Keys, res *Result, ch store.Changes, o sealOptions) (store.Changes, error) {
	gen := max(res.Floor.Generation+1, o.minGen)
	tags := maps.Clone(res.tags)
	out := store.Changes{Put: make(map[string][]byte, len(ch.Put)+1), Delete: slices.Clone(ch.Delete)}
	for _, k := range ch.Delete {
		if k == ManifestKey {
			return store.Changes{}, fmt.Errorf("%w: %q is the manifest's key", ErrReserved, k)
		}
		delete(tags, k)
	}
	for _, k := range slices.Sorted(maps.Keys(ch.Put)) {
		if k == ManifestKey {
			return store.Changes{}, fmt.Errorf("%w: %q is the manifest's key", ErrReserved, k)
		}
		v, t, err := tagRecord(keys, k, gen, ch.Put[k])
		if err != nil {
			return store.Changes{}, err
		}
		out.Put[k], tags[k] = v, t
	}
	n := 0
	active := keys.ActiveKeyID()
	for _, k := range slices.Sorted(maps.Keys(tags)) {
		if n >= o.retag {
			break
		}
		if _, changed := out.Put[k]; changed || kidOf(tags[k]) == active {
			continue
		}
		v, t, err := tagRecord(keys, k, gen, res.Snapshot.Entries[k].Value)
		if err != nil {
			return store.Changes{}, err
		}
		out.Put[k], tags[k] = v, t
		n++
	}
	if o.retagged != nil {
		*o.retagged = n
	}
	m, _, err := encodeManifest(keys, gen, tags)
	if err != nil {
		return store.Changes{}, err
	}
	out.Put[ManifestKey] = m
	return out, nil
}

// tagRecord returns the stored form of value at key, tagged at gen: value
// must be one JSON object without a member named TagMember; it is
// compacted first (the stores keep values compact, and the MAC covers the
// bytes as stored).
func tagRecord(keys Keys, key string, gen uint64, value []byte) ([]byte, string, error) {
	var c bytes.Buffer
	if err := json.Compact(&c, value); err != nil {
		return nil, "", fmt.Errorf("%w: %q is not JSON", ErrReserved, key)
	}
	rec := c.Bytes()
	if len(rec) < 2 || rec[0] != '{' || rec[len(rec)-1] != '}' {
		return nil, "", fmt.Errorf("%w: %q is not a JSON object", ErrReserved, key)
	}
	var members map[string]json.RawMessage
	if err := json.Unmarshal(rec, &members); err != nil {
		return nil, "", fmt.Errorf("%w: %q is not a JSON object", ErrReserved, key)
	}
	if _, has := members[TagMember]; has {
		return nil, "", fmt.Errorf("%w: %q already has a member %q", ErrReserved, key, TagMember)
	}
	if len(rec)+len(tagOpen)+MaxTagLen+4 > MaxRecordBytes {
		return nil, "", fmt.Errorf("%w: %q is %d bytes; a record is at most %d", ErrTooLarge, key, len(rec), MaxRecordBytes-MaxTagLen-32)
	}
	t, err := sign(keys, key, gen, rec)
	if err != nil {
		return nil, "", err
	}
	return attach(rec, t), t, nil
}

// kidOf is the master key id a well-formed tag string names.
func kidOf(tagStr string) string {
	t, err := parseTag(tagStr)
	if err != nil {
		return ""
	}
	return t.kid
}
