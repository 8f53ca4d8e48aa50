package token

import (
	"testing"
)

// Allocation budgets of the hot paths (DESIGN.md: allocation budgets as tests).
// They are skipped under the race detector, which allocates on its own.

func TestVerifyHS256Allocs(t *testing.T) {
	skipIfRace(t)
	s := newSigner(t, "k1", HS256)
	ks := keySet(t, s.Verifier())
	c := sampleClaims()
	c.Annotation = strp("rooted")
	c.Confirmation = devicePoint(t) // cnf decodes without allocating too
	tok := mint(t, s, c)
	var v Verified
	o := opts()
	if err := ks.Verify(tok, o, &v); err != nil { // grows v's buffer
		t.Fatal(err)
	}
	if n := testing.AllocsPerRun(200, func() {
		if err := ks.Verify(tok, o, &v); err != nil {
			t.Fatal(err)
		}
		if err := v.CheckBinding([]byte("Bearer abc")); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Fatalf("HS256 Verify+CheckBinding: %v allocs per op, want 0", n)
	}
	str := string(tok)
	if n := testing.AllocsPerRun(200, func() { _ = ks.VerifyString(str, o, &v) }); n != 0 {
		t.Fatalf("HS256 VerifyString: %v allocs per op, want 0", n)
	}
}

func TestMintHS256Allocs(t *testing.T) {
	skipIfRace(t)
	s := newSigner(t, "k1", HS256)
	c := sampleClaims()
	c.Annotation = strp("")
	buf, _ := s.AppendMint(nil, &c)
	if n := testing.AllocsPerRun(200, func() { buf, _ = s.AppendMint(buf[:0], &c) }); n != 0 {
		t.Fatalf("HS256 AppendMint into a reused buffer: %v allocs per op, want 0", n)
	}
	if n := testing.AllocsPerRun(200, func() { _, _ = s.AppendMint(nil, &c) }); n > 1 {
		t.Fatalf("HS256 AppendMint(nil): %v allocs per op, want ≤ 1", n)
	}
}
