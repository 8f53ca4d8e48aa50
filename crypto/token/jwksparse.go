package token

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"fmt"

	"github.com/attestd/attestd/verify/jsonscan"
)

// Limits of ParseJWKS.
const (
	// MaxJWKSSize is the largest JWK Set document ParseJWKS reads, in bytes.
	MaxJWKSSize = 64 << 10
	// MaxJWKSKeys is the most keys a JWK Set may hold.
	MaxJWKSKeys = 64
)

// ParseJWKS reads a JWK Set (RFC 7517) of at most MaxJWKSSize bytes and
// MaxJWKSKeys keys and returns its signature keys of the allow-list: kty EC
// with crv P-256 (ES256) and kty OKP with crv Ed25519 (EdDSA). Keys of other
// types or curves, and keys whose use is not "sig", are skipped, as RFC 7517
// §5 asks. A key of the allow-list must have a kid, an alg that is absent or
// the one its curve implies, well-formed coordinates of a point on the curve,
// and no private part; otherwise the whole set is refused (ErrMalformed or
// ErrKey), so that a caller keeps its last good set. Duplicate kids are
// refused (ErrKey). Member names are matched exactly, a duplicate member is
// refused, and unknown members are ignored.
func ParseJWKS(doc []byte) ([]VerifyKey, error) {
	if len(doc) > MaxJWKSSize {
		return nil, fmt.Errorf("%w: JWK Set over %d bytes", ErrMalformed, MaxJWKSSize)
	}
	s := newScanner(append([]byte(nil), doc...)) // strings are decoded in place
	var (
		keys   []VerifyKey
		keyErr error
	)
	seen := false
	m := jsonscan.Members{S: &s}
	for m.Next() {
		switch {
		case string(m.Name(nil)) != "keys":
			m.Err = s.Skip(1)
		case seen:
			m.Err = jsonscan.ErrJSON
		default:
			seen = true
			keys, keyErr = parseKeys(&s)
			if keyErr != nil {
				m.Err = keyErr
			}
		}
	}
	ok := m.Err == nil && s.End()
	switch {
	case keyErr != nil:
		return nil, keyErr
	case !ok:
		return nil, fmt.Errorf("%w: not a JWK Set", ErrMalformed)
	case !seen:
		return nil, fmt.Errorf("%w: JWK Set has no keys member", ErrMalformed)
	}
	if _, err := NewKeySet(keys...); err != nil { // duplicate kids
		return nil, err
	}
	return keys, nil
}

// parseKeys reads the keys array: the keys of the allow-list, and
// ErrMalformed or the error of a key that is refused.
func parseKeys(s *jsonscan.Scanner) ([]VerifyKey, error) {
	var keys []VerifyKey
	e := jsonscan.Elements{S: s}
	for n := 1; e.Next(); n++ {
		if n > MaxJWKSKeys {
			return nil, fmt.Errorf("%w: JWK Set has over %d keys", ErrMalformed, MaxJWKSKeys)
		}
		var j jwk
		m := jsonscan.Members{S: s}
		for m.Next() {
			if !j.member(s, m.Name(nil)) {
				m.Err = jsonscan.ErrJSON
			}
		}
		if m.Err != nil {
			return nil, fmt.Errorf("%w: not a JWK Set", ErrMalformed)
		}
		k, use, err := j.key()
		if err != nil {
			return nil, err
		}
		if use {
			keys = append(keys, k)
		}
	}
	if e.Err != nil {
		return nil, fmt.Errorf("%w: not a JWK Set", ErrMalformed)
	}
	return keys, nil
}

// jwk holds the members of one JWK that ParseJWKS looks at.
type jwk struct {
	kty, crv, x, y, kid, alg, use []byte
	hasD                          bool
	seen                          map[string]bool
}

// member reads the value of member name.
func (j *jwk) member(s *jsonscan.Scanner, name []byte) bool {
	var dst *[]byte
	switch string(name) {
	case "kty":
		dst = &j.kty
	case "crv":
		dst = &j.crv
	case "x":
		dst = &j.x
	case "y":
		dst = &j.y
	case "kid":
		dst = &j.kid
	case "alg":
		dst = &j.alg
	case "use":
		dst = &j.use
	case "d":
		j.hasD = true
		return s.Skip(2) == nil
	default:
		return s.Skip(2) == nil
	}
	if j.seen == nil {
		j.seen = make(map[string]bool, 8)
	}
	if j.seen[string(name)] {
		return false
	}
	j.seen[string(name)] = true
	v, ok := str(s)
	*dst = v
	return ok
}

// key returns the key j describes, and false when it is not one of the
// allow-list (skipped).
func (j *jwk) key() (VerifyKey, bool, error) {
	var alg Alg
	switch {
	case string(j.kty) == "EC" && string(j.crv) == "P-256":
		alg = ES256
	case string(j.kty) == "OKP" && string(j.crv) == "Ed25519":
		alg = EdDSA
	default:
		return VerifyKey{}, false, nil
	}
	if j.use != nil && string(j.use) != "sig" {
		return VerifyKey{}, false, nil
	}
	kid := string(j.kid)
	if j.hasD {
		return VerifyKey{}, false, fmt.Errorf("%w: JWK %q holds a private key", ErrKey, kid)
	}
	if j.alg != nil && string(j.alg) != string(alg) {
		return VerifyKey{}, false, fmt.Errorf("%w: JWK %q: alg does not match its curve", ErrKey, kid)
	}
	var pub any
	switch alg {
	case ES256:
		point := make([]byte, 1, 65)
		point[0] = 4
		var err error
		if point, err = appendCoord(point, j.x); err == nil {
			point, err = appendCoord(point, j.y)
		}
		if err != nil {
			return VerifyKey{}, false, fmt.Errorf("%w: JWK %q: %w", ErrKey, kid, err)
		}
		k, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), point)
		if err != nil {
			return VerifyKey{}, false, fmt.Errorf("%w: JWK %q: %w", ErrKey, kid, err)
		}
		pub = k
	case EdDSA:
		x, err := appendCoord(nil, j.x)
		if err != nil {
			return VerifyKey{}, false, fmt.Errorf("%w: JWK %q: %w", ErrKey, kid, err)
		}
		pub = ed25519.PublicKey(x)
	}
	k, err := NewPublicKey(kid, alg, pub)
	return k, true, err
}

// appendCoord appends the 32 bytes that enc, b64u, must decode to.
func appendCoord(dst, enc []byte) ([]byte, error) {
	if len(enc) != 43 {
		return dst, fmt.Errorf("a coordinate is not 32 bytes of base64url")
	}
	var c [33]byte
	n, err := b64.Decode(c[:], enc)
	if err != nil || n != 32 {
		return dst, fmt.Errorf("a coordinate is not 32 bytes of base64url")
	}
	return append(dst, c[:32]...), nil
}
