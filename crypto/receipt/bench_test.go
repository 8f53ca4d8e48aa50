package receipt_test

import (
	"testing"
	"time"
)

func BenchmarkReceiptCheck(b *testing.B) {
	k := ring(b, key("k2", 2), key("k1", 1))
	s := issue(b, k, sample())
	now := t0.Add(time.Hour)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := k.Check(s, now); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkReceiptIssue(b *testing.B) {
	k := ring(b, key("k2", 2))
	r := sample()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := k.Issue(r, t0); err != nil {
			b.Fatal(err)
		}
	}
}
