package recordauth

import (
	"errors"
	"fmt"
	"slices"
	"testing"
)

// legacy returns a store written before record authentication.
func legacy(n int) *mem {
	m := newMem()
	for i := range n {
		m.set(fmt.Sprintf("apps/a%03d", i), []byte(fmt.Sprintf(`{"id":"a%03d"}`, i)))
	}
	m.set(bansKey, []byte(bansValue))
	return m
}

// TestAuthenticateLegacyStoreInBatches: `store authenticate` tags a
// pre-1.1 store in changes of at most Batch records, each leaving a
// manifest over what is tagged so far, and ends verifying; run again, it
// changes nothing.
func TestAuthenticateLegacyStoreInBatches(t *testing.T) {
	kr := keyring(t, "m1")
	m := legacy(7)
	report := Inspect(m.cur, kr)
	approved := map[string]bool{}
	for _, p := range report.Problems {
		if p.Kind == KindUntagged {
			approved[p.Key] = true
		}
	}
	if len(approved) != 8 || report.Records != 8 {
		t.Fatalf("report: %+v", report)
	}
	changes := 0
	for {
		var out Outcome
		ch, err := Authenticate(kr, AuthOptions{Approved: approved, Batch: 3, Outcome: &out})(m.cur)
		if err != nil {
			t.Fatal(err)
		}
		if ch.Empty() {
			break
		}
		if len(out.Tagged) > 3 || len(ch.Put) > 4 {
			t.Fatalf("batch of %d", len(out.Tagged))
		}
		m.apply(ch)
		changes++
	}
	if changes != 3 {
		t.Fatalf("%d changes, want 3", changes)
	}
	res := mustVerify(t, m.cur, kr, Floor{})
	if len(res.Snapshot.Entries) != 8 || res.Floor.Generation != 3 {
		t.Fatalf("after: %d records, generation %d", len(res.Snapshot.Entries), res.Floor.Generation)
	}
}

// TestAuthenticateRefusesWhatWasNotReviewed: a record written without a
// tag after the operator's review is not blessed by the upgrade.
func TestAuthenticateRefusesWhatWasNotReviewed(t *testing.T) {
	kr := keyring(t, "m1")
	m := legacy(1)
	approved := map[string]bool{"apps/a000": true, bansKey: true}
	m.set("apps/com.evil", []byte(`{"id":"com.evil"}`))
	if _, err := Authenticate(kr, AuthOptions{Approved: approved})(m.cur); !errors.Is(err, ErrUnauthenticated) {
		t.Fatalf("Authenticate = %v", err)
	}
}

// TestAuthenticateRepair: forged, replayed and removed records are refused
// without Repair; with it the forged and replayed ones are removed, the
// removal is accepted, and the generation passes MinGeneration.
func TestAuthenticateRepair(t *testing.T) {
	kr := keyring(t, "m1")
	m := genuine(t, kr)
	oldBans, _ := m.cur.Get(bansKey)
	m.update(t, Authenticated(kr, put(map[string]string{bansKey: `{"devices":[]}`})))
	m.set(bansKey, oldBans.Value)                                                          // replayed
	m.set("apps/com.evil", attach([]byte(`{"id":"x"}`), "a1:m1:1:"+b64(make([]byte, 32)))) // forged
	m.del(acctKey)                                                                         // removed
	if _, err := Authenticate(kr, AuthOptions{})(m.cur); err == nil {
		t.Fatal("Authenticate without Repair accepted a damaged store")
	}
	var out Outcome
	m.update(t, Authenticate(kr, AuthOptions{Repair: true, MinGeneration: 50, Outcome: &out}))
	slices.Sort(out.Removed)
	if !slices.Equal(out.Removed, []string{"apps/com.evil", bansKey}) || out.Generation != 50 {
		t.Fatalf("outcome %+v", out)
	}
	res := mustVerify(t, m.cur, kr, Floor{Generation: 49})
	if len(res.Snapshot.Entries) != 1 {
		t.Fatalf("left: %v", res.Snapshot.Keys(""))
	}
}

func TestAuthenticateRefusesUnknownKey(t *testing.T) {
	both := keyring(t, "m2", "m1")
	m := genuine(t, both)
	_, err := Authenticate(keyring(t, "m1"), AuthOptions{Repair: true})(m.cur)
	if !errors.Is(err, ErrUnknownKey) {
		t.Fatalf("Authenticate = %v", err)
	}
}

// TestRepairNeverBlessesUntaggedRecords: in a store that has a manifest
// (or had: tagged records without one), a record without a tag is damage,
// never an upgrade: refused, or removed by Repair.
func TestRepairNeverBlessesUntaggedRecords(t *testing.T) {
	kr := keyring(t, "m1")
	m := genuine(t, kr)
	m.set("apps/com.evil", []byte(`{"id":"com.evil"}`))
	if _, err := PlanAuthentication(m.cur, kr, AuthOptions{}); err == nil {
		t.Fatal("plan accepted an untagged record in an authenticated store")
	}
	p, err := PlanAuthentication(m.cur, kr, AuthOptions{Repair: true})
	if err != nil || len(p.Tag) != 0 || !slices.Equal(p.Remove, []string{"apps/com.evil"}) {
		t.Fatalf("repair plan %+v, %v", p, err)
	}
	m.del(ManifestKey)
	if _, err := PlanAuthentication(m.cur, kr, AuthOptions{}); err == nil {
		t.Fatal("plan rebuilt a removed manifest without --repair")
	}
	p, err = PlanAuthentication(m.cur, kr, AuthOptions{Repair: true})
	if err != nil || len(p.Tag) != 0 || !slices.Equal(p.Remove, []string{"apps/com.evil"}) {
		t.Fatalf("repair plan without a manifest %+v, %v", p, err)
	}
}

// TestInterruptedUpgradeResumes: an upgrade stopped after its first batch
// lists the records it still has to tag in the manifest; run again, it
// tags them without a review, but not a record added meanwhile.
func TestInterruptedUpgradeResumes(t *testing.T) {
	kr := keyring(t, "m1")
	m := legacy(4)
	m.update(t, Authenticate(kr, AuthOptions{Batch: 2}))
	if _, err := Verify(m.cur, kr, Floor{}); !errors.Is(err, ErrUnauthenticated) {
		t.Fatalf("half-upgraded store: %v", err)
	}
	m.set("apps/com.evil", []byte(`{"id":"com.evil"}`))
	if _, err := PlanAuthentication(m.cur, kr, AuthOptions{}); err == nil {
		t.Fatal("the resumed upgrade would tag a record added meanwhile")
	}
	m.del("apps/com.evil")
	for range 3 {
		m.update(t, Authenticate(kr, AuthOptions{Batch: 2}))
	}
	if res := mustVerify(t, m.cur, kr, Floor{}); len(res.Snapshot.Entries) != 5 {
		t.Fatalf("after resuming: %d records", len(res.Snapshot.Entries))
	}
}

func TestAuthenticateEmptyStoreIsNothing(t *testing.T) {
	kr := keyring(t, "m1")
	p, err := PlanAuthentication(newMem().cur, kr, AuthOptions{})
	if err != nil || !p.Nothing {
		t.Fatalf("empty store: %+v %v", p, err)
	}
	if ch, err := Authenticate(kr, AuthOptions{})(newMem().cur); err != nil || !ch.Empty() {
		t.Fatalf("empty store changed: %v", err)
	}
}
