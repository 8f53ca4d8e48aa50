package replay

import (
	"testing"
	"time"
)

func TestSeenDoesNotRecord(t *testing.T) {
	s, err := New(Config{MaxEntries: 10})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Unix(1000, 0)
	id := ID{1, 2, 3}
	if s.Seen(id, 1060) {
		t.Fatal("fresh id seen")
	}
	if s.Seen(id, 1060) || s.Len() != 0 {
		t.Fatal("Seen recorded the id")
	}
	if fresh, err := s.Use(id, 1060, now, Real); !fresh || err != nil {
		t.Fatalf("Use = %v, %v", fresh, err)
	}
	if !s.Seen(id, 1060) {
		t.Fatal("used id not seen")
	}
	if s.Seen(id, 1061) {
		t.Fatal("seen under another expiry")
	}
}

// TestClaimHoldsOffRacers: a claimed id is seen and cannot be claimed
// again until released; the claimer uses it as usual; a claim released
// unused leaves the nonce usable; claims count in no budget.
func TestClaimHoldsOffRacers(t *testing.T) {
	s := newSet(t, Config{MaxEntries: 1})
	now := time.Unix(1000, 0)
	a, b := ID{1}, ID{2}
	if !s.Claim(a, 1060) || !s.Seen(a, 1060) || s.Claim(a, 1060) || s.Len() != 0 {
		t.Fatal("a claimed id: not seen, claimed twice, or counted")
	}
	if fresh, err := s.Use(a, 1060, now, Real); !fresh || err != nil {
		t.Fatalf("the claimer's Use = %v, %v", fresh, err)
	}
	s.Release(a)
	if !s.Seen(a, 1060) || s.Claim(a, 1060) {
		t.Fatal("a used id released: not seen, or claimed again")
	}
	if !s.Claim(b, 1060) {
		t.Fatal("claim b")
	}
	s.Release(b)
	if s.Seen(b, 1060) || !s.Claim(b, 1060) {
		t.Fatal("a claim released unused: the nonce is not usable again")
	}
	s.Release(b)
	for i := range 100 { // claims beyond the budget: they are not pairs
		if !s.Claim(ID{9, byte(i)}, 1060) {
			t.Fatalf("claim %d refused", i)
		}
	}
}
