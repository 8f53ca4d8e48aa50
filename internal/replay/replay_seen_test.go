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
