package nonce

import (
	"crypto/hmac"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"io"
	"slices"
	"time"
)

const (
	version   = "v1."
	expLen    = 8
	randLen   = 16
	tagLen    = 24
	signedLen = expLen + randLen
	bodyLen   = signedLen + tagLen // 48: a multiple of 3, so no padding bits
	encLen    = bodyLen / 3 * 4    // 64

	// MinLen and MaxLen bound the length of every nonce, in bytes.
	MinLen = len(version) + 1 + 1 + encLen
	MaxLen = len(version) + MaxKeyIDLen + 1 + encLen

	// MinTTL and MaxTTL bound the ttl that Issue accepts. The protocol's
	// narrower range (10-300 s) is the daemon's configuration to enforce.
	MinTTL = time.Second
	MaxTTL = 24 * time.Hour
)

// IDSize is the size of Parsed.ID.
const IDSize = 16

// Parsed is what Check learns from an authentic nonce.
type Parsed struct {
	// ID identifies the nonce for the replay set: the first 16 bytes of
	// its MAC, so it is unique per nonce and uniformly distributed.
	ID [IDSize]byte
	// ExpiresAt is the Unix second from which the nonce is expired.
	ExpiresAt int64
	// KeyID is the id of the key that minted the nonce.
	KeyID string
}

// Issue appends a new nonce to dst and returns the extended slice and its
// expires_at, now.Unix() plus ttl in whole seconds. ttl must lie in
// [MinTTL, MaxTTL].
//
// rnd supplies the 16 random bytes; nil means crypto/rand.Reader, which on
// current Linux is a vDSO call and needs no buffering. A caller may pass
// its own buffered cryptographic reader; Issue reads exactly 16 bytes from
// it with io.ReadFull, and rnd must be safe for concurrent use if Issue is
// called concurrently with the same reader.
//
// Issue allocates at most once: when dst lacks MaxLen bytes of spare
// capacity.
func (kr *Keyring) Issue(dst []byte, now time.Time, ttl time.Duration, rnd io.Reader) (nonce []byte, expiresAt int64, err error) {
	if ttl < MinTTL || ttl > MaxTTL {
		return dst, 0, fmt.Errorf("ttl %v outside [%v, %v]: %w", ttl, MinTTL, MaxTTL, ErrConfig)
	}
	if rnd == nil {
		rnd = rand.Reader
	}
	exp := now.Unix() + int64(ttl/time.Second)
	k := kr.active
	st := k.get()
	defer k.put(st)
	binary.BigEndian.PutUint64(st.body[:expLen], uint64(exp))
	if _, err := io.ReadFull(rnd, st.body[expLen:signedLen]); err != nil {
		return dst, 0, fmt.Errorf("%w: %w", ErrRandom, err)
	}
	copy(st.body[signedLen:], k.tag(st))
	dst = slices.Grow(dst, len(k.prefix)+encLen)
	dst = append(dst, k.prefix...)
	dst = base64.RawURLEncoding.AppendEncode(dst, st.body[:])
	return dst, exp, nil
}

// Check verifies a nonce at time now and returns what it carries. It checks,
// in this order, the length and shape (ErrMalformed), the key id
// (ErrUnknownKey), the MAC in constant time (ErrBadMAC), and only then the
// expiry: a nonce is valid while now < expires_at (ErrExpired otherwise).
// A forged nonce thus never reveals anything about its expiry.
//
// Check returns the bare sentinel errors, without allocating, so that a
// flood of bad nonces costs no garbage. On error, Parsed is zero.
func (kr *Keyring) Check(nonce []byte, now time.Time) (Parsed, error) {
	if len(nonce) < MinLen || len(nonce) > MaxLen {
		return Parsed{}, ErrMalformed
	}
	if string(nonce[:len(version)]) != version {
		return Parsed{}, ErrMalformed
	}
	sep := len(nonce) - encLen - 1
	if nonce[sep] != '.' {
		return Parsed{}, ErrMalformed
	}
	kid, enc := nonce[len(version):sep], nonce[sep+1:]
	if !validKeyID(kid) || !validB64u(enc) {
		return Parsed{}, ErrMalformed
	}
	k := kr.keys[string(kid)]
	if k == nil {
		return Parsed{}, ErrUnknownKey
	}
	st := k.get()
	defer k.put(st)
	if n, err := base64.RawURLEncoding.Decode(st.body[:], enc); err != nil || n != bodyLen {
		return Parsed{}, ErrMalformed // unreachable after validB64u; kept as a guard
	}
	if !hmac.Equal(k.tag(st), st.body[signedLen:]) {
		return Parsed{}, ErrBadMAC
	}
	exp := int64(binary.BigEndian.Uint64(st.body[:expLen]))
	if now.Unix() >= exp {
		return Parsed{}, ErrExpired
	}
	p := Parsed{ExpiresAt: exp, KeyID: k.id}
	copy(p.ID[:], st.body[signedLen:])
	return p, nil
}

// validB64u reports whether every byte of s is in the base64url alphabet.
// The standard decoder skips CR and LF; this check makes the spelling
// unique.
func validB64u(s []byte) bool {
	for _, c := range s {
		if !isURLChar(c) {
			return false
		}
	}
	return true
}
