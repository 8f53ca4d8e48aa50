package token

import (
	"encoding/base64"
	"fmt"
	"time"
	"unsafe"
)

// b64 is base64url without padding, refusing non-zero trailing bits, so that
// each token has one encoding. It is never modified.
var b64 = base64.RawURLEncoding.Strict()

// KeySet is the set of keys tokens are verified with, by kid. It is
// immutable and safe for concurrent use; build a new one to change keys.
type KeySet struct {
	byKID map[string]*VerifyKey
	keys  []VerifyKey
}

// NewKeySet returns the set of keys, which must be valid and have distinct
// kids. An empty set is allowed; it verifies nothing.
func NewKeySet(keys ...VerifyKey) (*KeySet, error) {
	ks := &KeySet{byKID: make(map[string]*VerifyKey, len(keys)), keys: make([]VerifyKey, len(keys))}
	copy(ks.keys, keys)
	for i := range ks.keys {
		k := &ks.keys[i]
		if !k.valid() {
			return nil, fmt.Errorf("%w: key %d was not built by a constructor", ErrKey, i)
		}
		if _, dup := ks.byKID[k.kid]; dup {
			return nil, fmt.Errorf("%w: kid %q appears twice", ErrKey, k.kid)
		}
		ks.byKID[k.kid] = k
	}
	return ks, nil
}

// Keys returns a copy of the set's keys, in the order given to NewKeySet.
func (ks *KeySet) Keys() []VerifyKey { return append([]VerifyKey(nil), ks.keys...) }

// Lookup returns the key with the given kid.
func (ks *KeySet) Lookup(kid string) (VerifyKey, bool) {
	k, ok := ks.byKID[kid]
	if !ok {
		return VerifyKey{}, false
	}
	return *k, true
}

// Options are the checks of Verify beyond the signature.
type Options struct {
	// Now is the time tokens are checked at. The zero time means the wall
	// clock at the call (the one place this package reads it).
	Now time.Time
	// Leeway is the clock skew allowed on exp, iat and nbf, in whole
	// seconds (rounded down). Negative is 0.
	Leeway time.Duration
	// Audience, when not empty, must equal aud exactly.
	Audience string
	// Issuer, when not empty, must equal iss exactly.
	Issuer string
}

// Verify checks tok and, when it passes, fills out (see Verified for how
// long its fields stay valid). Verify never modifies or retains tok.
//
// The checks, in order, each failing with its sentinel: size and shape
// (ErrMalformed); header JSON (ErrMalformed); kid (ErrUnknownKey); alg equal
// to the kid's key's algorithm (ErrAlgorithm); signature (ErrSignature);
// claims JSON (ErrMalformed); exp > now-leeway (ErrExpired); iat and nbf ≤
// now+leeway (ErrNotYetValid); iss (ErrIssuer); aud (ErrAudience). The
// claims are decoded only after the signature verified. On error, out holds
// nothing of the token.
//
// For an HS256 key, Verify does not allocate once out's buffer has grown to
// the token's size.
func (ks *KeySet) Verify(tok []byte, o Options, out *Verified) error {
	out.Reset()
	if err := ks.verify(tok, &o, out); err != nil {
		out.Reset()
		return err
	}
	return nil
}

// VerifyString is Verify for a token held in a string, without copying it.
func (ks *KeySet) VerifyString(tok string, o Options, out *Verified) error {
	// Verify only reads tok, so a read-only view of the string's bytes is
	// sound (unsafe.String's contract forbids writes, which never happen).
	return ks.Verify(unsafe.Slice(unsafe.StringData(tok), len(tok)), o, out)
}

func (ks *KeySet) verify(tok []byte, o *Options, out *Verified) error {
	if len(tok) > MaxTokenSize {
		return fmt.Errorf("%w: %d bytes, over the %d-byte limit", ErrMalformed, len(tok), MaxTokenSize)
	}
	d1, d2, ok := split(tok)
	if !ok {
		return fmt.Errorf("%w: not three base64url parts", ErrMalformed)
	}
	if d1 > maxHeaderEnc {
		return fmt.Errorf("%w: header over %d bytes", ErrMalformed, maxHeaderEnc)
	}
	var hbuf [maxHeaderDec]byte
	n, err := b64.Decode(hbuf[:], tok[:d1])
	if err != nil {
		return fmt.Errorf("%w: header is not base64url", ErrMalformed)
	}
	alg, kid, err := parseHeader(hbuf[:n])
	if err != nil {
		return err
	}
	var k *VerifyKey
	if ks != nil {
		k = ks.byKID[string(kid)]
	}
	if k == nil {
		return fmt.Errorf("%w: no key has the token's kid", ErrUnknownKey)
	}
	if string(alg) != string(k.alg) {
		return fmt.Errorf("%w: key %q takes only %s", ErrAlgorithm, k.kid, k.alg)
	}
	sigLen := k.alg.sigLen()
	sigEnc := tok[d2+1:]
	var sig [64]byte
	if len(sigEnc) != b64.EncodedLen(sigLen) {
		return fmt.Errorf("%w: signature length", ErrSignature)
	}
	if _, err := b64.Decode(sig[:], sigEnc); err != nil {
		return fmt.Errorf("%w: signature is not base64url", ErrSignature)
	}
	if !k.verify(tok[:d2], sig[:sigLen]) {
		return fmt.Errorf("%w: signature does not verify with key %q", ErrSignature, k.kid)
	}
	payEnc := tok[d1+1 : d2]
	out.buf = growTo(out.buf, b64.DecodedLen(len(payEnc)))
	n, err = b64.Decode(out.buf, payEnc)
	if err != nil {
		return fmt.Errorf("%w: claims are not base64url", ErrMalformed)
	}
	out.buf = out.buf[:n]
	nbf, seen, err := decodeClaims(out)
	if err != nil {
		return err
	}
	if err := checkClaims(out, nbf, seen, o); err != nil {
		return err
	}
	out.KID, out.Alg = k.kid, k.alg
	return nil
}

// checkClaims applies the time, issuer and audience checks.
// seen says which claims were present: absent iat and nbf are not checked.
func checkClaims(v *Verified, nbf int64, seen uint16, o *Options) error {
	now := o.Now
	if now.IsZero() {
		now = time.Now()
	}
	leeway := int64(max(o.Leeway, 0) / time.Second)
	t := now.Unix()
	if v.ExpiresAt <= t-leeway {
		return fmt.Errorf("%w: exp %d, now %d, leeway %ds", ErrExpired, v.ExpiresAt, t, leeway)
	}
	if seen&cIat != 0 && v.IssuedAt > t+leeway {
		return fmt.Errorf("%w: iat %d after now %d plus leeway %ds", ErrNotYetValid, v.IssuedAt, t, leeway)
	}
	if seen&cNbf != 0 && nbf > t+leeway {
		return fmt.Errorf("%w: nbf %d after now %d plus leeway %ds", ErrNotYetValid, nbf, t, leeway)
	}
	if o.Issuer != "" && string(v.Issuer) != o.Issuer {
		return fmt.Errorf("%w: want %q", ErrIssuer, o.Issuer)
	}
	if o.Audience != "" && string(v.Audience) != o.Audience {
		return fmt.Errorf("%w: want %q", ErrAudience, o.Audience)
	}
	return nil
}

// split returns the positions of the two dots of a compact JWS whose bytes
// are all base64url or '.', with a non-empty header and payload (the
// signature may be empty, so that alg "none" is refused as an algorithm).
func split(tok []byte) (d1, d2 int, ok bool) {
	d1, d2 = -1, -1
	for i, c := range tok {
		switch {
		case c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '-', c == '_':
		case c == '.' && d1 < 0:
			d1 = i
		case c == '.' && d2 < 0:
			d2 = i
		default:
			return 0, 0, false
		}
	}
	return d1, d2, d1 > 0 && d2 > d1+1
}

// growTo returns b with length n, reallocating only when its capacity is short.
func growTo(b []byte, n int) []byte {
	if cap(b) < n {
		return make([]byte, n)
	}
	return b[:n]
}
