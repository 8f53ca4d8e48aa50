package receipt_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"strings"
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

// BenchmarkBaselineHMAC is the floor beside BenchmarkReceiptCheck: one
// HMAC-SHA256 over a receipt's signed part.
func BenchmarkBaselineHMAC(b *testing.B) {
	k := ring(b, key("k2", 2))
	s := issue(b, k, sample())
	signed := []byte(s[:strings.LastIndexByte(s, '.')])
	secret := key("k2", 2).Secret.Reveal()
	b.ReportAllocs()
	for b.Loop() {
		h := hmac.New(sha256.New, secret)
		h.Write(signed)
		h.Sum(nil)
	}
}
