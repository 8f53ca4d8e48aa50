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
// concurrent use, and so are the functions; a Key made by ParseBuf is valid
// while its KeyBuf is not reused.
package devicekey

import (
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"math/big"
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
	// DIDSize is the length of a did: b64u of a SHA-256 digest.
	DIDSize = 43

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
	did   [DIDSize]byte
}

// KeyBuf holds the ECDSA form of a parsed key and the scratch space of its
// curve check, so that ParseBuf allocates nothing: a hot path keeps one per
// request (in a pooled struct). The zero value is ready to use. A KeyBuf
// must not be copied after first use, nor used by two goroutines at once.
type KeyBuf struct {
	pub     ecdsa.PublicKey
	x, y    big.Int
	t, u, q big.Int
}

// Parse reads a device key from b, the base64url-decoded value of
// device.key: either the SPKI DER or the 65-byte uncompressed point. It
// does not keep b.
func Parse(b []byte) (Key, error) { return ParseBuf(b, new(KeyBuf)) }

// ParseBuf is Parse keeping the key's ECDSA form in buf: the Key it returns
// is valid until buf is used again, and then must not be used.
func ParseBuf(b []byte, buf *KeyBuf) (Key, error) {
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
	if !buf.set(point) {
		return Key{}, fmt.Errorf("point not on the curve: %w", ErrNotP256)
	}
	k := Key{ecdsa: &buf.pub}
	copy(k.point[:], point)
	sum := sha256.Sum256(point)
	base64.RawURLEncoding.Encode(k.did[:], sum[:])
	return k, nil
}

// set makes buf's key the uncompressed point p (65 bytes) if it is one of
// P-256: 0x04 first, 0 ≤ x, y < p and y² = x³ - 3x + b (mod p), which
// also excludes the point at infinity (which has no affine form). This is
// what ecdsa.ParseUncompressedPublicKey checks, without its seven
// allocations (it builds the key in another form and converts it). The
// key is public: no constant time is needed. The standard library checks
// the point again whenever it uses the key (ECDSA verification, ECDH).
func (buf *KeyBuf) set(p []byte) bool {
	curve := elliptic.P256()
	params := curve.Params()
	if p[0] != 4 {
		return false
	}
	x, y, t, u := &buf.x, &buf.y, &buf.t, &buf.u
	x.SetBytes(p[1:33])
	y.SetBytes(p[33:65])
	if x.Cmp(params.P) >= 0 || y.Cmp(params.P) >= 0 {
		return false
	}
	// t = x³ - 3x + b - y², then one reduction: t ≡ 0 (mod p). Separate
	// operands and results, so that math/big reuses the buffers' words.
	u.Mul(x, x)
	t.Mul(u, x)
	u.Lsh(x, 1)
	u.Add(u, x)
	t.Sub(t, u)
	t.Add(t, params.B)
	u.Mul(y, y)
	t.Sub(t, u)
	buf.q.QuoRem(t, params.P, u)
	if u.Sign() != 0 {
		return false
	}
	buf.pub = ecdsa.PublicKey{Curve: curve, X: x, Y: y}
	return true
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

// DID is the device id: b64u(SHA-256(Point())), 43 characters ("" for the
// zero Key). It allocates; AppendDID does not.
func (k Key) DID() string {
	if k.ecdsa == nil {
		return ""
	}
	return string(k.did[:])
}

// AppendDID appends the device id to dst (nothing for the zero Key).
func (k Key) AppendDID(dst []byte) []byte {
	if k.ecdsa == nil {
		return dst
	}
	return append(dst, k.did[:]...)
}

// IsZero reports whether k holds no key.
func (k Key) IsZero() bool { return k.ecdsa == nil }
