// Package devicekey parses the device key of an attest request and checks
// its Attest-Signature (PROTOCOL §2), and derives the device id, did
// (PROTOCOL §3).
//
// A device key is a P-256 public key sent as either its SubjectPublicKeyInfo
// (DER, id-ecPublicKey with the prime256v1 named curve and an uncompressed
// point) or its bare 65-byte uncompressed point 0x04||X||Y. Nothing else is
// accepted: no other curve or algorithm, no compressed point, no explicit
// curve parameters, no BER.
//
// Who may import: the attest core, verify/* and tests. It imports only the
// standard library and does no I/O. Key values are immutable and safe for
// concurrent use, and so are the functions.
package devicekey

import (
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
)

// Errors returned by this package, wrapped with %w; test with errors.Is.
// ErrMalformed and ErrNotP256 map to bad_request, ErrSignature to
// signature_invalid.
var (
	// ErrMalformed: the key bytes are too long or decode as neither an SPKI
	// nor an uncompressed point.
	ErrMalformed = errors.New("devicekey: malformed key")
	// ErrNotP256: the key is well formed but is not a P-256 public key:
	// another algorithm or curve, or a point not on the curve.
	ErrNotP256 = errors.New("devicekey: not a P-256 public key")
	// ErrSignature: the signature is missing, malformed or not valid.
	ErrSignature = errors.New("devicekey: invalid signature")
)

const (
	// MaxKeyLen is the longest input Parse reads; longer is refused before
	// any parsing.
	MaxKeyLen = 200
	// PointSize is the size of an uncompressed P-256 point.
	PointSize = 65
	// SPKISize is the size of the DER SubjectPublicKeyInfo of a P-256 key.
	SPKISize = len(spkiPrefix) + PointSize

	// spkiPrefix is the only DER encoding of
	//   SEQUENCE { SEQUENCE { OID id-ecPublicKey, OID prime256v1 },
	//              BIT STRING (0 unused bits) ... }
	// up to the 65 bytes of the point. DER is unique, so an SPKI of a
	// P-256 key is exactly this prefix and the point.
	spkiPrefix = "\x30\x59\x30\x13\x06\x07\x2a\x86\x48\xce\x3d\x02\x01" +
		"\x06\x08\x2a\x86\x48\xce\x3d\x03\x01\x07\x03\x42\x00"
)

// Key is a parsed device key. The zero Key holds no key: its accessors
// return nil or zero values and VerifySignature refuses it.
type Key struct {
	ecdsa *ecdsa.PublicKey
	point [PointSize]byte
	did   string
}

// Parse reads a device key from b, the base64url-decoded value of
// device.key: either the SPKI DER or the 65-byte uncompressed point. It
// does not keep b.
func Parse(b []byte) (Key, error) {
	if len(b) > MaxKeyLen {
		return Key{}, fmt.Errorf("%d bytes, over %d: %w", len(b), MaxKeyLen, ErrMalformed)
	}
	var point []byte
	switch {
	case len(b) == PointSize && b[0] == 4:
		point = b
	case len(b) == SPKISize && string(b[:len(spkiPrefix)]) == spkiPrefix:
		point = b[len(spkiPrefix):]
	default:
		return Key{}, classify(b)
	}
	pub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), point)
	if err != nil {
		return Key{}, fmt.Errorf("point: %w: %w", ErrNotP256, err)
	}
	k := Key{ecdsa: pub}
	copy(k.point[:], point)
	sum := sha256.Sum256(point)
	var did [43]byte // b64u of 32 bytes
	base64.RawURLEncoding.Encode(did[:], sum[:])
	k.did = string(did[:])
	return k, nil
}

// ECDSA is the key for signature checks. The caller must not modify it.
func (k Key) ECDSA() *ecdsa.PublicKey { return k.ecdsa }

// ECDH is the key to encrypt to (crypto/seal), made on demand: most
// attests release no secrets and never need it. Nil for the zero Key.
func (k Key) ECDH() *ecdh.PublicKey {
	if k.ecdsa == nil {
		return nil
	}
	dh, err := ecdh.P256().NewPublicKey(k.point[:])
	if err != nil { // Parse checked the point: cannot happen
		return nil
	}
	return dh
}

// Point is the 65-byte uncompressed point 0x04||X||Y.
func (k Key) Point() [PointSize]byte { return k.point }

// SPKI returns a new copy of the key's DER SubjectPublicKeyInfo, or nil for
// the zero Key.
func (k Key) SPKI() []byte {
	if k.ecdsa == nil {
		return nil
	}
	return append([]byte(spkiPrefix), k.point[:]...)
}

// DID is the device id: b64u(SHA-256(Point())), 43 characters.
func (k Key) DID() string { return k.did }

// IsZero reports whether k holds no key.
func (k Key) IsZero() bool { return k.ecdsa == nil }
