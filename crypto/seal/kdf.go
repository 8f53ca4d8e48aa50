package seal

import (
	"crypto/sha256"
	"encoding/binary"
)

// concatKDF is the Concat KDF of NIST SP 800-56A §5.8.1 with SHA-256, as
// RFC 7518 §4.6.2 uses it: OtherInfo = AlgorithmID || PartyUInfo ||
// PartyVInfo || SuppPubInfo, each of the first three a 32-bit big-endian
// length followed by the bytes, and SuppPubInfo = keyBits as 32 bits. The
// caller clears the result.
func concatKDF(z []byte, alg string, apu, apv []byte, keyBits int) []byte {
	keyLen := keyBits / 8
	out := make([]byte, 0, (keyLen+sha256.Size-1)/sha256.Size*sha256.Size)
	h := sha256.New()
	var n [4]byte
	for counter := uint32(1); len(out) < keyLen; counter++ {
		h.Reset()
		binary.BigEndian.PutUint32(n[:], counter)
		h.Write(n[:])
		h.Write(z)
		for _, part := range [][]byte{[]byte(alg), apu, apv} {
			binary.BigEndian.PutUint32(n[:], uint32(len(part)))
			h.Write(n[:])
			h.Write(part)
		}
		binary.BigEndian.PutUint32(n[:], uint32(keyBits))
		h.Write(n[:])
		out = h.Sum(out)
	}
	return out[:keyLen]
}
