package ecdsasig

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/asn1"
	"math/big"
	"testing"
)

// roundTrip checks der, AppendDER's form of raw: encoding/asn1 reads it as
// raw's two halves, and ToRaw turns it back into raw.
func roundTrip(t *testing.T, raw, der []byte) {
	t.Helper()
	var std struct{ R, S *big.Int }
	if rest, err := asn1.Unmarshal(der, &std); err != nil || len(rest) != 0 ||
		std.R.Cmp(new(big.Int).SetBytes(raw[:32])) != 0 || std.S.Cmp(new(big.Int).SetBytes(raw[32:])) != 0 {
		t.Fatalf("DER %x of %x does not read back with encoding/asn1: %v", der, raw, err)
	}
	got := make([]byte, RawSize)
	if !ToRaw(got, der) || !bytes.Equal(got, raw) {
		t.Fatalf("raw %x → DER %x → %x", raw, der, got)
	}
}

// TestRoundTrip: r‖s → DER → r‖s, at the edges of the encoding (a zero
// half, a half with its high bit set, leading zero bytes).
func TestRoundTrip(t *testing.T) {
	for _, raw := range [][]byte{
		append(make([]byte, 32), bytes.Repeat([]byte{0xff}, 32)...), // r = 0 (one zero byte), s high bit set
		append(append([]byte{0, 0, 1}, make([]byte, 29)...), append([]byte{0x7f}, make([]byte, 31)...)...),
		bytes.Repeat([]byte{0x80}, 64),
		make([]byte, 64),
	} {
		der := AppendDER(nil, raw)
		if len(der) > MaxDERSize {
			t.Fatalf("DER of %x is %d bytes, over MaxDERSize", raw, len(der))
		}
		roundTrip(t, raw, der)
	}
	if got := AppendDER([]byte("x"), make([]byte, 63)); string(got) != "x" {
		t.Fatalf("a 63-byte signature has a DER form: %x", got)
	}
}

// TestToRawRefusesOtherForms: what is not a SEQUENCE of two INTEGERs that
// fit 32 bytes, in short-form lengths and with nothing after, is refused.
func TestToRawRefusesOtherForms(t *testing.T) {
	for _, bad := range []string{
		"", "\x30\x00", "\x30\x03\x02\x01\x01",
		"\x31\x06\x02\x01\x01\x02\x01\x01",                             // SET
		"\x30\x07\x02\x01\x01\x02\x01\x01\x00",                         // a byte after
		"\x30\x04\x02\x00\x02\x00",                                     // empty INTEGERs
		"\x30\x06\x03\x01\x01\x02\x01\x01",                             // BIT STRING
		"\x30\x81\x06\x02\x01\x01\x02\x01\x01",                         // long-form length
		"\x30\x07\x02\x81\x01\x01\x02\x01\x01",                         // long-form INTEGER length
		"\x30\x25\x02\x21\x01" + string(make([]byte, 32)) + "\x02\x00", // r of 33 significant bytes
	} {
		if ToRaw(make([]byte, RawSize), []byte(bad)) {
			t.Errorf("ToRaw accepted %x", bad)
		}
	}
	der := AppendDER(nil, bytes.Repeat([]byte{1}, 64))
	if ToRaw(make([]byte, 63), der) {
		t.Error("ToRaw wrote into 63 bytes")
	}
}

// TestSignaturesOfCryptoECDSA: what crypto/ecdsa signs converts to r‖s
// and back to DER it verifies.
func TestSignaturesOfCryptoECDSA(t *testing.T) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	digest := sha256.Sum256([]byte("message"))
	for range 64 {
		der, err := ecdsa.SignASN1(rand.Reader, k, digest[:])
		if err != nil {
			t.Fatal(err)
		}
		raw := make([]byte, RawSize)
		if !ToRaw(raw, der) {
			t.Fatalf("ToRaw refused crypto/ecdsa's %x", der)
		}
		var buf [MaxDERSize]byte
		if back := AppendDER(buf[:0], raw); !bytes.Equal(back, der) || !ecdsa.VerifyASN1(&k.PublicKey, digest[:], back) {
			t.Fatalf("DER %x → %x → %x", der, raw, back)
		}
	}
}

// TestNoAllocs: both directions into caller buffers allocate nothing.
func TestNoAllocs(t *testing.T) {
	raw := bytes.Repeat([]byte{0x9c}, RawSize)
	var buf [MaxDERSize]byte
	der := AppendDER(nil, raw)
	out := make([]byte, RawSize)
	if n := testing.AllocsPerRun(100, func() {
		_ = AppendDER(buf[:0], raw)
		_ = ToRaw(out, der)
	}); n != 0 {
		t.Fatalf("%v allocations", n)
	}
}

func BenchmarkAppendDER(b *testing.B) {
	raw := bytes.Repeat([]byte{0x9c}, RawSize)
	var buf [MaxDERSize]byte
	b.ReportAllocs()
	for b.Loop() {
		_ = AppendDER(buf[:0], raw)
	}
}

func BenchmarkToRaw(b *testing.B) {
	der := AppendDER(nil, bytes.Repeat([]byte{0x9c}, RawSize))
	out := make([]byte, RawSize)
	b.ReportAllocs()
	for b.Loop() {
		_ = ToRaw(out, der)
	}
}

// BenchmarkBaselineCopy is the floor beside both: copying 64 bytes.
func BenchmarkBaselineCopy(b *testing.B) {
	raw := bytes.Repeat([]byte{0x9c}, RawSize)
	out := make([]byte, RawSize)
	b.ReportAllocs()
	for b.Loop() {
		copy(out, raw)
	}
}

// FuzzToRaw: ToRaw never panics; what it accepts, AppendDER writes back as
// the same integers (as encoding/asn1 reads them), and a signature in
// crypto/ecdsa's minimal form comes back byte for byte.
func FuzzToRaw(f *testing.F) {
	f.Add(AppendDER(nil, append(make([]byte, 32), bytes.Repeat([]byte{0xff}, 32)...)))
	f.Add([]byte("\x30\x06\x02\x01\x01\x02\x01\x01"))
	f.Add([]byte("\x30\x81\x06\x02\x01\x01\x02\x01\x01"))
	f.Fuzz(func(t *testing.T, der []byte) {
		raw := make([]byte, RawSize)
		if !ToRaw(raw, der) {
			return
		}
		back := AppendDER(nil, raw)
		var a, b struct{ R, S *big.Int }
		if _, err := asn1.Unmarshal(back, &b); err != nil {
			t.Fatalf("AppendDER wrote %x, not DER: %v", back, err)
		}
		// encoding/asn1 reads only minimal DER: such a signature, of
		// non-negative integers, is what AppendDER writes.
		if rest, err := asn1.Unmarshal(der, &a); err == nil && len(rest) == 0 && a.R.Sign() >= 0 && a.S.Sign() >= 0 {
			if a.R.Cmp(b.R) != 0 || a.S.Cmp(b.S) != 0 || !bytes.Equal(back, der) {
				t.Fatalf("%x read as %x, written back as %x", der, raw, back)
			}
		}
	})
}

// FuzzAppendDER: any 64 bytes make DER that encoding/asn1 reads as the
// two halves, and that ToRaw turns back into the same 64 bytes.
func FuzzAppendDER(f *testing.F) {
	f.Add(make([]byte, RawSize))
	f.Add(bytes.Repeat([]byte{0xff}, RawSize))
	f.Fuzz(func(t *testing.T, raw []byte) {
		der := AppendDER(nil, raw)
		if len(raw) != RawSize {
			if len(der) != 0 {
				t.Fatalf("%d bytes made DER", len(raw))
			}
			return
		}
		roundTrip(t, raw, der)
	})
}
