package recordauth

import (
	"crypto/sha256"
	"encoding/base64"
	"maps"
	"testing"

	"github.com/attestd/attestd/crypto/envelope"
	"github.com/attestd/attestd/crypto/secret"
	"github.com/attestd/attestd/store"
)

// keyring returns a keyring of the given ids (the first active), each key
// made from its seed so two calls agree.
func keyring(t testing.TB, ids ...string) *envelope.Keyring {
	t.Helper()
	keys := map[string]secret.Value{}
	for _, id := range ids {
		keys[id] = testMasterKey(id)
	}
	kr, err := envelope.NewKeyring(ids[0], keys)
	if err != nil {
		t.Fatal(err)
	}
	return kr
}

// testMasterKey is the master key of id in these tests: SHA-256 of the id,
// so every keyring listing id agrees on it.
func testMasterKey(id string) secret.Value {
	k := sha256.Sum256([]byte(id))
	return secret.New(k[:])
}

// mem is an in-memory store of snapshots: every change makes a new
// immutable snapshot, so a test can keep old ones to replay from.
type mem struct{ cur *store.Snapshot }

func newMem() *mem { return &mem{cur: &store.Snapshot{Entries: map[string]store.Entry{}}} }

// update applies m as store.Writer.Update would (no conflicts here).
func (m *mem) update(t testing.TB, mut Mutation) {
	t.Helper()
	ch, err := mut(m.cur)
	if err != nil {
		t.Fatal(err)
	}
	m.apply(ch)
}

func (m *mem) apply(ch store.Changes) {
	if ch.Empty() {
		return
	}
	rev := m.cur.Revision + 1
	n := &store.Snapshot{Revision: rev, Entries: maps.Clone(m.cur.Entries)}
	for k, v := range ch.Put {
		n.Entries[k] = store.Entry{Value: v, ModRevision: rev}
	}
	for _, k := range ch.Delete {
		delete(n.Entries, k)
	}
	m.cur = n
}

// set writes a raw value without the master key (the attacker's write).
func (m *mem) set(key string, v []byte) {
	m.apply(store.Changes{Put: map[string][]byte{key: v}})
}

func (m *mem) del(key string) { m.apply(store.Changes{Delete: []string{key}}) }

// put is an authenticated write of records.
func put(kv map[string]string) Mutation {
	return func(*store.Snapshot) (store.Changes, error) {
		ch := store.Changes{Put: map[string][]byte{}}
		for k, v := range kv {
			ch.Put[k] = []byte(v)
		}
		return ch, nil
	}
}

func del(keys ...string) Mutation {
	return func(*store.Snapshot) (store.Changes, error) { return store.Changes{Delete: keys}, nil }
}

const (
	appKey    = "apps/com.example.shop"
	appValue  = `{"id":"com.example.shop","account":"acme","platform":"android","signers":["genuine"]}`
	acctKey   = "accounts/acme"
	acctValue = `{"id":"acme","secrets":[{"name":"maps","value":"v1:m1:sealed","apps":["com.example.shop"]}]}`
	bansKey   = "bans"
	bansValue = `{"devices":["did-banned"]}`
)

// genuine returns a store written with kr: an app, an account, bans.
func genuine(t testing.TB, kr Keys) *mem {
	t.Helper()
	m := newMem()
	m.update(t, Authenticated(kr, put(map[string]string{appKey: appValue, acctKey: acctValue, bansKey: bansValue})))
	return m
}

func mustVerify(t testing.TB, raw *store.Snapshot, kr Keys, floor Floor) *Result {
	t.Helper()
	res, err := Verify(raw, kr, floor)
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	return res
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }
