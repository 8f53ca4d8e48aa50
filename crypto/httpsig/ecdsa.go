package httpsig

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"math/bits"

	"github.com/attestd/attestd/crypto/internal/ecdsasig"
)

// SigSize is the size of an ecdsa-p256-sha256 signature: r‖s, each 32
// bytes big-endian (RFC 9421 §3.3.4).
const SigSize = ecdsasig.RawSize

// ID is the identity of a signature for replay detection: SHA-256 of r
// and the lower of s and n-s, so that a signature and its malleated twin
// (r, n-s), which verifies as well, have the same ID.
type ID [sha256.Size]byte

// PublicKey returns the P-256 public key of point, the 65-byte
// uncompressed form 0x04‖x‖y, checking that it is on the curve.
func PublicKey(point []byte) (*ecdsa.PublicKey, error) {
	k, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), point)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrKey, err)
	}
	return k, nil
}

// DID returns the did of the key with uncompressed point point: b64u
// SHA-256 of the point (docs/protocol.md §3), appended to dst.
func DID(dst, point []byte) []byte {
	sum := sha256.Sum256(point)
	return base64.RawURLEncoding.AppendEncode(dst, sum[:])
}

// signRaw signs SHA-256(msg) with key and writes r‖s into sig.
func signRaw(sig *[SigSize]byte, key *ecdsa.PrivateKey, msg []byte) error {
	digest := sha256.Sum256(msg)
	der, err := ecdsa.SignASN1(rand.Reader, key, digest[:])
	if err != nil {
		return fmt.Errorf("httpsig: sign: %w", err)
	}
	if !ecdsasig.ToRaw(sig[:], der) {
		return fmt.Errorf("httpsig: sign: unexpected signature encoding")
	}
	return nil
}

// verifyRaw reports whether sig (r‖s) signs SHA-256(msg) under key.
func verifyRaw(key *ecdsa.PublicKey, msg []byte, sig *[SigSize]byte) bool {
	digest := sha256.Sum256(msg)
	var der [ecdsasig.MaxDERSize]byte
	return ecdsa.VerifyASN1(key, digest[:], ecdsasig.AppendDER(der[:0], sig[:]))
}

// p256N is the order n of P-256, as four big-endian 64-bit limbs.
var p256N = [4]uint64{0xffffffff00000000, 0xffffffffffffffff, 0xbce6faada7179e84, 0xf3b9cac2fc632551}

// SignatureID returns the ID of the signature sig (r‖s).
func SignatureID(sig *[SigSize]byte) ID {
	var buf [SigSize]byte
	copy(buf[:32], sig[:32])
	var s, ns [4]uint64
	for i := range 4 {
		s[i] = binary.BigEndian.Uint64(sig[32+8*i:])
	}
	// ns = n - s; s is below n for a signature that verified.
	var borrow uint64
	for i := 3; i >= 0; i-- {
		ns[i], borrow = bits.Sub64(p256N[i], s[i], borrow)
	}
	low := s
	if borrow == 0 && less(ns, s) {
		low = ns
	}
	for i := range 4 {
		binary.BigEndian.PutUint64(buf[32+8*i:], low[i])
	}
	return sha256.Sum256(buf[:])
}

// less reports whether a < b, both big-endian limbs.
func less(a, b [4]uint64) bool {
	for i := range 4 {
		if a[i] != b[i] {
			return a[i] < b[i]
		}
	}
	return false
}
