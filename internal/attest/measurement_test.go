package attest

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"math/rand/v2"
	"testing"
)

// stdMeasurement is the measurement of PROTOCOL.md §2 computed with
// crypto/hmac: the reference measurementOK is checked against.
func stdMeasurement(digest *[32]byte, nonce []byte) [32]byte {
	m := hmac.New(sha256.New, digest[:])
	m.Write(nonce)
	var out [32]byte
	copy(out[:], m.Sum(nil))
	return out
}

// TestMeasurementKnownAnswers: RFC 4231 test cases 1 and 2 (HMAC-SHA256).
// HMAC pads its key with zeros to the block size, so a short RFC key is
// the code digest that holds it followed by zeros.
func TestMeasurementKnownAnswers(t *testing.T) {
	for _, tc := range []struct {
		name, key, data, mac string
	}{
		{"rfc4231-1", "0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b", hex.EncodeToString([]byte("Hi There")),
			"b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"},
		{"rfc4231-2", hex.EncodeToString([]byte("Jefe")), hex.EncodeToString([]byte("what do ya want for nothing?")),
			"5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var digest, want [32]byte
			k, _ := hex.DecodeString(tc.key)
			copy(digest[:], k)
			data, _ := hex.DecodeString(tc.data)
			m, _ := hex.DecodeString(tc.mac)
			copy(want[:], m)
			if !measurementOK(&digest, data, &want) {
				t.Fatal("the RFC's MAC is refused")
			}
			want[31] ^= 1
			if measurementOK(&digest, data, &want) {
				t.Fatal("a MAC one bit off is accepted")
			}
		})
	}
}

// TestMeasurementMatchesCryptoHMAC: measurementOK accepts exactly the
// HMAC that crypto/hmac computes, for every nonce length it reads, and
// refuses a nonce longer than the 256 bytes any nonce can be.
func TestMeasurementMatchesCryptoHMAC(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for n := 0; n <= 257; n++ {
		var digest [32]byte
		for i := range digest {
			digest[i] = byte(r.Uint32())
		}
		nonce := make([]byte, n)
		for i := range nonce {
			nonce[i] = byte(r.Uint32())
		}
		mac := stdMeasurement(&digest, nonce)
		if got := measurementOK(&digest, nonce, &mac); got != (n <= 256) {
			t.Fatalf("nonce of %d bytes: accepted %v", n, got)
		}
		other := mac
		other[r.IntN(32)] ^= byte(1 + r.IntN(255))
		if measurementOK(&digest, nonce, &other) {
			t.Fatalf("nonce of %d bytes: a wrong MAC accepted", n)
		}
	}
}

func TestMeasurementDoesNotAllocate(t *testing.T) {
	var digest, mac [32]byte
	nonce := make([]byte, 96)
	if n := testing.AllocsPerRun(100, func() { measurementOK(&digest, nonce, &mac) }); n != 0 {
		t.Fatalf("%v allocations", n)
	}
}

// FuzzMeasurementOK: differential against crypto/hmac.
func FuzzMeasurementOK(f *testing.F) {
	f.Add(make([]byte, 32), []byte("v1.k1.AAAA"), false)
	f.Add([]byte("Jefe"), []byte("what do ya want for nothing?"), true)
	f.Add(make([]byte, 32), make([]byte, 300), true)
	f.Fuzz(func(t *testing.T, key, nonce []byte, flip bool) {
		var digest [32]byte
		copy(digest[:], key)
		mac := stdMeasurement(&digest, nonce)
		if flip {
			mac[0] ^= 0x80
		}
		want := !flip && len(nonce) <= 256
		if got := measurementOK(&digest, nonce, &mac); got != want {
			t.Fatalf("digest %x nonce %d bytes flip %v: got %v", digest, len(nonce), flip, got)
		}
	})
}
