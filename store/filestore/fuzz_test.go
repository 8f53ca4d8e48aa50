package filestore

import (
	"testing"

	"github.com/attestd/attestd/store"
)

// FuzzDecodeState: the state file parser never panics, and what it accepts
// encodes and decodes back to the same snapshot.
func FuzzDecodeState(f *testing.F) {
	f.Add([]byte(`{"revision": 3, "entries": {"a": {"mod_revision": 2, "value": {"x": [1, "y"]}}}}`))
	f.Add([]byte(`{"revision": 0, "entries": {}}`))
	f.Add([]byte(`{"revision": 1, "entries": {"k": {"value": null}}}`))
	f.Add([]byte(`{"revision": "1"}`))
	f.Add([]byte(`{"revision": 9, "entries": {"<&>": {"mod_revision": 9, "value": "\u003c"}}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		snap, err := decodeState(data)
		if err != nil {
			return
		}
		for k, e := range snap.Entries {
			if k == "" {
				continue
			}
			if _, err := next(snap, store.Changes{Put: map[string][]byte{k: e.Value}}); err != nil {
				t.Fatalf("stored value %q does not re-apply: %v", k, err)
			}
		}
		out, err := encodeState(snap)
		if err != nil {
			t.Fatalf("accepted state does not encode: %v", err)
		}
		back, err := decodeState(out)
		if err != nil || back.Revision != snap.Revision || len(back.Entries) != len(snap.Entries) {
			t.Fatalf("round trip: %v", err)
		}
	})
}
