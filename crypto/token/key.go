package token

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/sha256"
	"fmt"
	"hash"
	"sync"
	"unicode/utf8"

	"github.com/attestd/attestd/crypto/internal/ecdsasig"
	"github.com/attestd/attestd/crypto/secret"
)

// MinHMACKeyLen is the shortest HS256 secret accepted, in bytes.
const MinHMACKeyLen = 32

// VerifyKey is one key a token may be verified with: a kid, the one
// algorithm pinned to it, and an HMAC secret (HS256) or a public key (ES256,
// EdDSA). Build it with NewHMACKey or NewPublicKey, or get it from
// Signer.Verifier, Signer.PublicKey or ParseJWKS. The zero value is no key
// (NewKeySet refuses it). A VerifyKey is immutable; copies share state and
// are safe for concurrent use.
type VerifyKey struct {
	kid string
	alg Alg
	hm  *hmacKey          // HS256
	ec  *ecdsa.PublicKey  // ES256
	ed  ed25519.PublicKey // EdDSA
}

// hmacKey keeps the HMAC states of one secret for reuse, since building one
// costs allocations and two SHA-256 blocks.
type hmacKey struct {
	pool sync.Pool // of *hmacState
}

type hmacState struct {
	mac hash.Hash
	sum []byte // capacity sha256.Size
}

func newHMACKey(key []byte) *hmacKey {
	k := append([]byte(nil), key...) // the pool's New keeps it
	h := &hmacKey{}
	h.pool.New = func() any {
		return &hmacState{mac: hmac.New(sha256.New, k), sum: make([]byte, 0, sha256.Size)}
	}
	return h
}

// tag computes HMAC-SHA256(msg) into dst, which it returns.
func (h *hmacKey) tag(dst *[sha256.Size]byte, msg []byte) {
	st := h.pool.Get().(*hmacState)
	st.mac.Reset()
	st.mac.Write(msg)
	st.sum = st.mac.Sum(st.sum[:0])
	copy(dst[:], st.sum)
	h.pool.Put(st)
}

func checkKID(kid string) error {
	if kid == "" || len(kid) > MaxKIDLen || !utf8.ValidString(kid) {
		return fmt.Errorf("%w: kid must be 1 to %d bytes of UTF-8", ErrKey, MaxKIDLen)
	}
	return nil
}

// NewHMACKey returns the HS256 verification key kid with the given secret
// (at least MinHMACKeyLen bytes; the bytes are copied).
func NewHMACKey(kid string, key secret.Value) (VerifyKey, error) {
	if err := checkKID(kid); err != nil {
		return VerifyKey{}, err
	}
	if key.Len() < MinHMACKeyLen {
		return VerifyKey{}, fmt.Errorf("%w: HS256 secret of %d bytes, under %d", ErrKey, key.Len(), MinHMACKeyLen)
	}
	return VerifyKey{kid: kid, alg: HS256, hm: newHMACKey(key.Reveal())}, nil
}

// NewPublicKey returns the verification key kid for alg, which must be ES256
// with a *ecdsa.PublicKey on P-256, or EdDSA with an ed25519.PublicKey.
func NewPublicKey(kid string, alg Alg, pub crypto.PublicKey) (VerifyKey, error) {
	if err := checkKID(kid); err != nil {
		return VerifyKey{}, err
	}
	switch alg {
	case ES256:
		k, ok := pub.(*ecdsa.PublicKey)
		if !ok || k.Curve != elliptic.P256() {
			return VerifyKey{}, fmt.Errorf("%w: ES256 needs a P-256 ECDSA public key, got %T", ErrKey, pub)
		}
		// Bytes fails for a point that is not on the curve.
		raw, err := k.Bytes()
		if err != nil {
			return VerifyKey{}, fmt.Errorf("%w: ES256 public key: %w", ErrKey, err)
		}
		k, err = ecdsa.ParseUncompressedPublicKey(elliptic.P256(), raw)
		if err != nil {
			return VerifyKey{}, fmt.Errorf("%w: ES256 public key: %w", ErrKey, err)
		}
		return VerifyKey{kid: kid, alg: ES256, ec: k}, nil
	case EdDSA:
		k, ok := pub.(ed25519.PublicKey)
		if !ok || len(k) != ed25519.PublicKeySize {
			return VerifyKey{}, fmt.Errorf("%w: EdDSA needs an Ed25519 public key, got %T", ErrKey, pub)
		}
		return VerifyKey{kid: kid, alg: EdDSA, ed: append(ed25519.PublicKey(nil), k...)}, nil
	}
	return VerifyKey{}, fmt.Errorf("%w: %q is not a public-key algorithm of this package", ErrKey, alg)
}

// KID returns the key id.
func (k VerifyKey) KID() string { return k.kid }

// Alg returns the one algorithm the key verifies.
func (k VerifyKey) Alg() Alg { return k.alg }

// Public returns the public key (*ecdsa.PublicKey or ed25519.PublicKey), or
// nil for an HS256 key.
func (k VerifyKey) Public() crypto.PublicKey {
	switch k.alg {
	case ES256:
		return k.ec
	case EdDSA:
		return k.ed
	}
	return nil
}

// valid reports whether k was built by a constructor.
func (k VerifyKey) valid() bool {
	switch k.alg {
	case HS256:
		return k.hm != nil
	case ES256:
		return k.ec != nil
	case EdDSA:
		return len(k.ed) == ed25519.PublicKeySize
	}
	return false
}

// verify reports whether sig (of length k.alg.sigLen()) signs msg.
func (k *VerifyKey) verify(msg, sig []byte) bool {
	switch k.alg {
	case HS256:
		var sum [sha256.Size]byte
		k.hm.tag(&sum, msg)
		return hmac.Equal(sum[:], sig)
	case ES256:
		digest := sha256.Sum256(msg)
		var der [ecdsasig.MaxDERSize]byte
		return ecdsa.VerifyASN1(k.ec, digest[:], ecdsasig.AppendDER(der[:0], sig))
	case EdDSA:
		return ed25519.Verify(k.ed, msg, sig)
	}
	return false
}
