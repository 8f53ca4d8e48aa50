package recordauth

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
)

// ManifestKey is the store key of the manifest. It is a record of its own
// (tagged like the others) that no registry record may take.
const ManifestKey = "manifest"

// MaxManifestBytes bounds the stored manifest: 1 MiB, so that a change
// (the manifest, the records it writes, etcd's framing) fits in etcd's
// default 1.5 MiB request. With 30-byte keys that is some 25 000 records;
// a writer refuses a change that would pass it.
const MaxManifestBytes = 1 << 20

const digestLabel = "attestd manifest v1\x00"

// manifest is the decoded manifest record.
type manifest struct {
	Generation uint64            `json:"generation"`
	Digest     string            `json:"digest"`
	Records    map[string]uint64 `json:"records"`
	// Pending lists the records an interrupted upgrade (`attestctl store
	// authenticate` of a store written before record authentication) was
	// approved to tag and has not tagged yet: they still do not verify,
	// but the next run tags them without asking again. Sorted.
	Pending []string `json:"pending,omitempty"`
}

// digest is D of the package doc over tags (store key → tag string).
func digest(tags map[string]string) [32]byte {
	h := sha256.New()
	h.Write([]byte(digestLabel))
	var n [8]byte
	for _, k := range slices.Sorted(maps.Keys(tags)) {
		binary.BigEndian.PutUint64(n[:], uint64(len(k)))
		h.Write(n[:])
		h.Write([]byte(k))
		t := tags[k]
		binary.BigEndian.PutUint64(n[:], uint64(len(t)))
		h.Write(n[:])
		h.Write([]byte(t))
	}
	var d [32]byte
	h.Sum(d[:0])
	return d
}

// encodeManifest returns the stored manifest of generation gen over tags,
// tagged under the active key; pending as manifest.Pending.
func encodeManifest(keys Keys, gen uint64, tags map[string]string, pending ...string) ([]byte, [32]byte, error) {
	m := manifest{Generation: gen, Records: make(map[string]uint64, len(tags)), Pending: slices.Sorted(slices.Values(pending))}
	for k, t := range tags {
		pt, err := parseTag(t)
		if err != nil {
			return nil, [32]byte{}, fmt.Errorf("recordauth: %s: %w", k, err)
		}
		m.Records[k] = pt.gen
	}
	d := digest(tags)
	m.Digest = b64u.EncodeToString(d[:])
	rec, err := marshalCompact(&m)
	if err != nil {
		return nil, d, err
	}
	t, err := sign(keys, ManifestKey, gen, rec)
	if err != nil {
		return nil, d, err
	}
	out := attach(rec, t)
	if len(out) > MaxManifestBytes {
		return nil, d, fmt.Errorf("%w: the manifest would be %d bytes for %d records; at most %d bytes (about 25 000 records)",
			ErrTooLarge, len(out), len(tags), MaxManifestBytes)
	}
	return out, d, nil
}

// decodeManifest decodes the body of a manifest whose tag verified (so the
// bytes are the writer's): a stricter reading than the writer needs, as a
// second line behind the MAC. gen is the generation its tag names.
func decodeManifest(body []byte, gen uint64) (*manifest, [32]byte, error) {
	var d [32]byte
	if len(body) > MaxManifestBytes {
		return nil, d, fmt.Errorf("manifest of %d bytes", len(body))
	}
	dec := json.NewDecoder(bytes.NewReader(append(body[:len(body):len(body)], '}')))
	dec.DisallowUnknownFields()
	var m manifest
	if err := dec.Decode(&m); err != nil {
		return nil, d, fmt.Errorf("manifest does not decode: %v", err)
	}
	if dec.More() {
		return nil, d, fmt.Errorf("manifest: data after the object")
	}
	raw, err := b64u.DecodeString(m.Digest)
	if err != nil || len(raw) != len(d) {
		return nil, d, fmt.Errorf("manifest digest is not b64u of %d bytes", len(d))
	}
	copy(d[:], raw)
	if m.Generation != gen {
		return nil, d, fmt.Errorf("manifest says generation %d, its tag %d", m.Generation, gen)
	}
	if _, self := m.Records[ManifestKey]; self {
		return nil, d, fmt.Errorf("manifest lists itself")
	}
	for k, g := range m.Records {
		if k == "" || g == 0 || g > gen {
			return nil, d, fmt.Errorf("manifest entry %q: generation %d of %d", k, g, gen)
		}
	}
	for _, k := range m.Pending {
		if _, listed := m.Records[k]; listed || k == "" || k == ManifestKey {
			return nil, d, fmt.Errorf("manifest pending entry %q", k)
		}
	}
	return &m, d, nil
}

// marshalCompact is json.Marshal without HTML escaping (the stores keep
// values compact as they are).
func marshalCompact(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, fmt.Errorf("recordauth: encode: %w", err)
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}
