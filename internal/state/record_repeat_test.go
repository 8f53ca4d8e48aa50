package state

import (
	"bytes"
	"crypto/rand"
	"errors"
	"strings"
	"testing"

	"github.com/attestd/attestd/store"
)

// TestStoredRecordRepeatedMemberRefused: a stored record that names a
// member twice (written by hand into the store: attestctl never does) is
// refused as corrupt, naming the member, so the registry is not built from
// it; encoding/json would have kept the last value. Unknown members are
// still read past, for records of a newer attestctl.
func TestStoredRecordRepeatedMemberRefused(t *testing.T) {
	seal := newTestSealer(t)
	snap := commit(t, emptySnap(), mustApply(t, seal))
	if _, err := DecodeAll(snap, seal); err != nil {
		t.Fatalf("the good snapshot: %v", err)
	}
	appKey := AppKey("com.example.shop")
	for _, tc := range []struct{ name, key, old, new, want string }{
		{"app-policy", appKey, `"policy":{}`, `"policy":{"allow_rooted":false,"allow_rooted":true}`, "policy.allow_rooted: repeated member"},
		{"app-account", appKey, `"account":"acme"`, `"account":"acme","account":"other"`, "account: repeated member"},
		{"account-pins", AccountKey("acme"), `"pins":{`, `"pins":{"evil.example":["x"],"evil.example":[],`, `pins["evil.example"]: repeated member`},
		{"bans", BansKey, `"devices":`, `"devices":[],"devices":`, "devices: repeated member"},
		{"deployment", DeploymentKey, `{`, `{"nonce":{},`, "nonce: repeated member"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := snap.Entries[tc.key]
			bad := bytes.Replace(e.Value, []byte(tc.old), []byte(tc.new), 1)
			if bytes.Equal(bad, e.Value) {
				t.Fatalf("case does not change %s: %s", tc.key, e.Value)
			}
			tampered := commit(t, snap, store.Changes{Put: map[string][]byte{tc.key: bad}})
			_, err := DecodeAll(tampered, seal)
			if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("DecodeAll = %v, want ErrCorrupt naming %q", err, tc.want)
			}
		})
	}
	e := snap.Entries[appKey]
	newer := bytes.Replace(e.Value, []byte(`"policy":{}`), []byte(`"policy":{"enforcement":"monitor"},"version_codes":{"4.2.1":421}`), 1)
	if _, err := DecodeApp(appKey, newer, seal); err != nil {
		t.Fatalf("a record with a member this version does not know: %v", err)
	}
}

func mustApply(t *testing.T, seal Sealer) store.Changes {
	t.Helper()
	ch, err := Apply(emptySnap(), acmeBundle(t), seal, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return ch
}
