package state

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"testing"

	"github.com/attestd/attestd/store"
)

func TestDeploymentCreatedAndRotated(t *testing.T) {
	seal := newTestSealer(t)
	snap := run(t, emptySnap(), EnsureDeployment(seal, rand.Reader))
	e, ok := snap.Get(DeploymentKey)
	if !ok {
		t.Fatal("no deployment record")
	}
	d, err := DecodeDeployment(e.Value, seal)
	if err != nil {
		t.Fatal(err)
	}
	if d.Nonce.Active != "n1" || d.Receipt.Active != "r1" || d.TLSSessionTickets.Active != "t1" ||
		d.QUICStatelessReset.Len() != 32 || d.QUICToken.Len() != 32 || d.Receipt.ActiveKey().Len() != 32 {
		t.Fatalf("deployment: %+v", d)
	}
	if ch, err := EnsureDeployment(seal, rand.Reader)(snap); err != nil || !ch.Empty() {
		t.Fatalf("second ensure: %v %v", ch, err)
	}

	var kid string
	snap = run(t, snap, RotateDeploymentKey(seal, rand.Reader, SetNonce, &kid))
	e, _ = snap.Get(DeploymentKey)
	d2, err := DecodeDeployment(e.Value, seal)
	if err != nil {
		t.Fatal(err)
	}
	if kid != "n2" || d2.Nonce.Active != "n2" || len(d2.Nonce.Keys) != 2 || !d2.Nonce.Keys["n1"].Equal(d.Nonce.ActiveKey()) {
		t.Fatalf("after rotate: kid %s, %+v", kid, d2.Nonce.KIDs())
	}
	if d2.Nonce.ActiveKey().Equal(d.Nonce.ActiveKey()) {
		t.Fatal("rotation kept the same key bytes")
	}
	if !d2.Receipt.ActiveKey().Equal(d.Receipt.ActiveKey()) || !d2.QUICToken.Equal(d.QUICToken) {
		t.Fatal("rotation touched other keys")
	}
	if _, err := RemoveDeploymentKey(seal, rand.Reader, SetNonce, "n2")(snap); !errors.Is(err, ErrRefused) {
		t.Fatalf("remove active: %v", err)
	}
	if _, err := RemoveDeploymentKey(seal, rand.Reader, "bogus", "n1")(snap); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown set: %v", err)
	}
	snap = run(t, snap, RemoveDeploymentKey(seal, rand.Reader, SetNonce, "n1"))
	e, _ = snap.Get(DeploymentKey)
	d3, _ := DecodeDeployment(e.Value, seal)
	if got := d3.Nonce.KIDs(); len(got) != 1 || got[0] != "n2" {
		t.Fatalf("after remove: %v", got)
	}
	for range 9 {
		snap = run(t, snap, RotateDeploymentKey(seal, rand.Reader, SetReceipt, &kid))
	}
	if kid != "r10" {
		t.Fatalf("kid after 9 rotations = %s", kid)
	}
	e, _ = snap.Get(DeploymentKey)
	d4, _ := DecodeDeployment(e.Value, seal)
	if ids := d4.Receipt.KIDs(); ids[1] != "r2" || ids[9] != "r10" {
		t.Fatalf("KIDs order: %v", ids)
	}
}

func TestDeploymentKeepsUnknownMembersAndFillsMissing(t *testing.T) {
	seal := newTestSealer(t)
	snap := run(t, emptySnap(), EnsureDeployment(seal, rand.Reader))
	e, _ := snap.Get(DeploymentKey)
	raw := map[string]json.RawMessage{}
	_ = json.Unmarshal(e.Value, &raw)
	delete(raw, "quic_token")
	raw["future_thing"] = json.RawMessage(`{"x":1}`)
	v, _ := json.Marshal(raw)
	snap = commit(t, snap, store.Changes{Put: map[string][]byte{DeploymentKey: v}})
	snap = run(t, snap, EnsureDeployment(seal, rand.Reader))
	e, _ = snap.Get(DeploymentKey)
	if _, err := DecodeDeployment(e.Value, seal); err != nil {
		t.Fatal(err)
	}
	raw = map[string]json.RawMessage{}
	_ = json.Unmarshal(e.Value, &raw)
	if string(raw["future_thing"]) != `{"x":1}` {
		t.Fatalf("unknown member lost: %s", e.Value)
	}
	if _, err := EnsureDeployment(newTestSealer(t), rand.Reader)(snap); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("other master key: %v", err)
	}
}
