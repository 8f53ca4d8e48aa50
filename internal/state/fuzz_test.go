package state

import (
	"crypto/rand"
	"testing"

	"github.com/attestd/attestd/store"
)

// FuzzDecodeRecords: the stored-record decoders never panic on any bytes.
func FuzzDecodeRecords(f *testing.F) {
	seal := newTestSealer(f)
	ch, err := Apply(emptySnap(), acmeBundle(f), seal, rand.Reader)
	if err != nil {
		f.Fatal(err)
	}
	for k, v := range ch.Put {
		f.Add(k, v)
	}
	f.Add("accounts/x", []byte(`{"id":"x","keys":[{"kid":"k","secret":"v1:m1:AAAA"}]}`))
	f.Add("deployment", []byte(`{"nonce":{"active":"n1","keys":{"n1":""}}}`))
	f.Fuzz(func(t *testing.T, key string, value []byte) {
		_, _ = DecodeAccount(key, value, seal)
		_, _ = DecodeApp(key, value, seal)
		_, _ = DecodeBans(value)
		_, _ = DecodeDeployment(value, seal)
		snap := &store.Snapshot{Entries: map[string]store.Entry{key: {Value: value}}}
		_, _ = DecodeAll(snap, seal)
		_, _ = EnsureDeployment(seal, rand.Reader)(snap)
	})
}
