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
	mac := DebugTokenKey([32]byte{1})
	f.Add(mac, []byte(`{"name":"ci","account":"acme","app":"com.example.shop","created_at":1,"expires_at":2,"secrets":true}`))
	f.Add(mac, []byte(`{"name":"ci","name":"other","account":"acme","app":"a","expires_at":2}`))
	f.Add("debug_tokens/zz", []byte(`{"name":"ci","account":"acme","app":"a","expires_at":2}`))
	f.Fuzz(func(t *testing.T, key string, value []byte) {
		_, _ = DecodeAccount(key, value, seal)
		_, _ = DecodeApp(key, value, seal)
		_, _ = DecodeBans(value)
		_, _ = DecodeDeployment(value, seal)
		_, _ = DecodeDebugToken(key, value)
		snap := &store.Snapshot{Entries: map[string]store.Entry{key: {Value: value}}}
		_, _ = DecodeAll(snap, seal)
		_, _ = EnsureDeployment(seal, rand.Reader)(snap)
		_, _ = RevokeDebugToken("acme", "a", "ci")(snap)
	})
}
