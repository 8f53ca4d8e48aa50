package recordauth

import (
	"bytes"
	"maps"
	"testing"

	"github.com/attestd/attestd/store"
)

// FuzzSplit: any bytes; a value that splits puts back together as it was,
// and a tag that parses formats back as it was.
func FuzzSplit(f *testing.F) {
	for _, s := range []string{`{}`, `{"_auth":"a1:m1:1:AAAA"}`, `{"a":1,"_auth":"a1:m1:12:` + b64(make([]byte, 32)) + `"}`,
		`{,"_auth":"a1:m1:1:AA"}`, `{"a":1,"_auth":"a1:m1:01:x"}`, `{"a":"\"_auth\":\"x\"}"}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, v []byte) {
		body, ts, ok := split(v)
		if !ok {
			return
		}
		if got := attach(closeBody(body), ts); !bytes.Equal(got, v) {
			t.Fatalf("attach(split(%q)) = %q", v, got)
		}
		if tg, err := parseTag(ts); err == nil && formatTag(tg.kid, tg.gen, tg.mac) != ts {
			t.Fatalf("tag %q formats back as %q", ts, formatTag(tg.kid, tg.gen, tg.mac))
		}
	})
}

// FuzzVerify: an attacker who can write the store but holds no master key
// replaces the manifest and one record (any key, any bytes) of a genuine
// store. Verify never panics, and whatever it accepts is the genuine
// state: the same records with the same bytes.
func FuzzVerify(f *testing.F) {
	kr := keyring(f, "m1")
	g := genuine(f, kr)
	want := mustVerify(f, g.cur, kr, Floor{}).Snapshot
	man, _ := g.cur.Get(ManifestKey)
	app, _ := g.cur.Get(appKey)
	f.Add(man.Value, appKey, app.Value)
	f.Add(man.Value, "apps/com.evil", []byte(`{"id":"com.evil","signers":["evil"]}`))
	f.Add(man.Value, "apps/com.evil", app.Value)
	f.Add(bytes.Replace(man.Value, []byte(`"records":{`), []byte(`"records":{"apps/com.evil":1,`), 1), "apps/com.evil", app.Value)
	f.Add([]byte(`{"generation":9,"digest":"","records":{},"_auth":"a1:m1:9:`+b64(make([]byte, 32))+`"}`), bansKey, []byte(`{"devices":[]}`))
	f.Add([]byte(`{}`), ManifestKey, []byte(`{"_auth":"a1:m9:1:AAAA"}`))
	f.Fuzz(func(t *testing.T, manifestValue []byte, key string, value []byte) {
		raw := &store.Snapshot{Revision: 9, Entries: maps.Clone(g.cur.Entries)}
		raw.Entries[ManifestKey] = store.Entry{Value: manifestValue, ModRevision: 9}
		raw.Entries[key] = store.Entry{Value: value, ModRevision: 9}
		res, err := Verify(raw, kr, Floor{})
		if err != nil {
			return
		}
		if len(res.Snapshot.Entries) != len(want.Entries) {
			t.Fatalf("accepted %d records, the genuine state has %d", len(res.Snapshot.Entries), len(want.Entries))
		}
		for k, e := range want.Entries {
			if got, ok := res.Snapshot.Get(k); !ok || !bytes.Equal(got.Value, e.Value) {
				t.Fatalf("accepted %s = %q, genuine %q", k, got.Value, e.Value)
			}
		}
	})
}

// FuzzDecodeManifest: the manifest decoder (behind the MAC, a second
// line) takes any bytes without panicking.
func FuzzDecodeManifest(f *testing.F) {
	f.Add([]byte(`{"generation":3,"digest":"`+b64(make([]byte, 32))+`","records":{"a":1,"b":3}`), uint64(3))
	f.Add([]byte(`{"generation":3,"digest":"","records":{"manifest":1}`), uint64(3))
	f.Add([]byte(`{"generation":1,"x":2`), uint64(1))
	f.Fuzz(func(t *testing.T, body []byte, gen uint64) {
		m, _, err := decodeManifest(body, gen)
		if err != nil {
			return
		}
		if m.Generation != gen {
			t.Fatalf("decoded generation %d, tag %d", m.Generation, gen)
		}
		for k, g := range m.Records {
			if k == "" || k == ManifestKey || g == 0 || g > gen {
				t.Fatalf("decoded entry %q at %d of %d", k, g, gen)
			}
		}
	})
}
