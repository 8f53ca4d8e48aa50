package token

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/attestd/attestd/crypto/internal/ecdsasig"
	"github.com/attestd/attestd/crypto/secret"
)

// Signer mints tokens with one key. It is immutable and safe for concurrent
// use.
type Signer struct {
	kid    string
	alg    Alg
	header []byte // b64u(header JSON) followed by '.'
	ec     *ecdsa.PrivateKey
	ed     ed25519.PrivateKey
	verify VerifyKey // HS256: shares the HMAC state pool
	bufs   sync.Pool // of *[]byte, scratch for the claims JSON
}

// NewSigner returns a signer for key kid. For HS256, key is the raw secret
// (at least MinHMACKeyLen bytes). For ES256 and EdDSA, key is a PKCS#8 DER
// private key of a P-256 ECDSA or an Ed25519 key respectively; any other
// type or curve is refused. Before returning, the signer mints a probe token
// and verifies it with its own verification key (ErrKey if that fails).
func NewSigner(kid string, alg Alg, key secret.Value) (*Signer, error) {
	if err := checkKID(kid); err != nil {
		return nil, err
	}
	s := &Signer{kid: kid, alg: alg}
	var err error
	switch alg {
	case HS256:
		s.verify, err = NewHMACKey(kid, key)
	case ES256, EdDSA:
		err = s.setPrivate(key.Reveal())
	default:
		err = fmt.Errorf("%w: algorithm %q is not HS256, ES256 or EdDSA", ErrKey, alg)
	}
	if err != nil {
		return nil, err
	}
	hdr, _ := appendString([]byte(`{"alg":"`+string(alg)+`","typ":"JWT","kid":`), kid) // kid is valid UTF-8
	hdr = append(hdr, '}')
	s.header = append(b64.AppendEncode(nil, hdr), '.')
	s.bufs.New = func() any { b := make([]byte, 0, 512); return &b }
	if err := s.selfTest(); err != nil {
		return nil, err
	}
	return s, nil
}

// setPrivate parses a PKCS#8 private key for s.alg and derives s.verify.
func (s *Signer) setPrivate(der []byte) error {
	priv, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return fmt.Errorf("%w: %s key is not PKCS#8 DER: %w", ErrKey, s.alg, err)
	}
	switch k := priv.(type) {
	case *ecdsa.PrivateKey:
		if s.alg != ES256 || k.Curve != elliptic.P256() {
			break
		}
		s.ec = k
		s.verify, err = NewPublicKey(s.kid, ES256, &k.PublicKey)
		return err
	case ed25519.PrivateKey:
		if s.alg != EdDSA {
			break
		}
		s.ed = k
		s.verify, err = NewPublicKey(s.kid, EdDSA, k.Public())
		return err
	}
	return fmt.Errorf("%w: a %T does not sign %s", ErrKey, priv, s.alg)
}

// selfTest mints a probe token and verifies it with s.verify.
func (s *Signer) selfTest() error {
	const iat = 1_700_000_000
	arc := "probe,\"escaped\"\n"
	c := Claims{Issuer: "attestd-selftest", Subject: "probe", Audience: "probe", IssuedAt: iat, ExpiresAt: iat + 60,
		ID: "probe-ÿ", Device: "probe", Payload: "probe", Annotation: &arc, Confirmation: [ConfirmationSize]byte{4, 1, 64: 2}}
	tok, err := s.AppendMint(nil, &c)
	if err != nil {
		return fmt.Errorf("%w: self-test mint: %w", ErrKey, err)
	}
	ks, err := NewKeySet(s.verify)
	if err != nil {
		return err
	}
	var v Verified
	if err := ks.Verify(tok, Options{Now: time.Unix(iat, 0), Audience: "probe", Issuer: "attestd-selftest"}, &v); err != nil {
		return fmt.Errorf("%w: self-test verify: %w", ErrKey, err)
	}
	if got := v.Claims(); got.ID != c.ID || got.Annotation == nil || *got.Annotation != arc || got.Confirmation != c.Confirmation {
		return fmt.Errorf("%w: self-test claims do not round-trip", ErrKey)
	}
	return nil
}

// KID returns the key id.
func (s *Signer) KID() string { return s.kid }

// Alg returns the algorithm.
func (s *Signer) Alg() Alg { return s.alg }

// Verifier returns the key that verifies s's tokens. For HS256 it holds the
// secret: keep it as private as the signer.
func (s *Signer) Verifier() VerifyKey { return s.verify }

// PublicKey returns the public verification key, or false for HS256.
func (s *Signer) PublicKey() (VerifyKey, bool) {
	if s.alg == HS256 {
		return VerifyKey{}, false
	}
	return s.verify, true
}

// Decoy returns a signer with s's kid and algorithm and a fresh random key
// that exists only in the returned signer's memory. Its tokens have the same
// header as s's and signatures of the same form, and no backend accepts them:
// they are for failed verdicts (docs/protocol.md §3). Make one per key and keep it.
func (s *Signer) Decoy() (*Signer, error) {
	var key []byte
	switch s.alg {
	case HS256:
		key = make([]byte, 32)
		_, _ = rand.Read(key) // crypto/rand.Read never fails (Go 1.24+)
	case ES256:
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return nil, fmt.Errorf("%w: decoy: %w", ErrKey, err)
		}
		if key, err = x509.MarshalPKCS8PrivateKey(k); err != nil {
			return nil, fmt.Errorf("%w: decoy: %w", ErrKey, err)
		}
	case EdDSA:
		_, k, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			return nil, fmt.Errorf("%w: decoy: %w", ErrKey, err)
		}
		if key, err = x509.MarshalPKCS8PrivateKey(k); err != nil {
			return nil, fmt.Errorf("%w: decoy: %w", ErrKey, err)
		}
	}
	return NewSigner(s.kid, s.alg, secret.New(key))
}

// AppendMint appends the compact token for c to dst and returns the
// extended slice. With HS256 and a dst of sufficient capacity it does not
// allocate. It fails with ErrClaims, dst unchanged, when c cannot be encoded:
// ExpiresAt is zero, a string is not valid UTF-8, or the token would be over
// MaxTokenSize (which Verify refuses).
func (s *Signer) AppendMint(dst []byte, c *Claims) ([]byte, error) {
	bp := s.bufs.Get().(*[]byte)
	defer s.bufs.Put(bp)
	js, err := appendClaims((*bp)[:0], c)
	*bp = js[:0]
	if err != nil {
		return dst, err
	}
	n := len(s.header) + b64.EncodedLen(len(js)) + 1 + b64.EncodedLen(s.alg.sigLen())
	if n > MaxTokenSize {
		return dst, fmt.Errorf("%w: the token would be %d bytes, over the %d-byte limit of Verify", ErrClaims, n, MaxTokenSize)
	}
	start := len(dst)
	dst = slices.Grow(dst, n)
	dst = append(dst, s.header...)
	dst = b64.AppendEncode(dst, js)
	var sig [64]byte
	if err := s.sign(sig[:s.alg.sigLen()], dst[start:]); err != nil {
		return dst[:start], err
	}
	dst = append(dst, '.')
	return b64.AppendEncode(dst, sig[:s.alg.sigLen()]), nil
}

// sign writes the signature of msg into sig (len s.alg.sigLen()).
func (s *Signer) sign(sig, msg []byte) error {
	switch s.alg {
	case HS256:
		s.verify.hm.tag((*[sha256.Size]byte)(sig), msg)
	case ES256:
		digest := sha256.Sum256(msg)
		der, err := ecdsa.SignASN1(rand.Reader, s.ec, digest[:])
		if err != nil {
			return fmt.Errorf("token: ES256 sign: %w", err)
		}
		if !ecdsasig.ToRaw(sig, der) {
			return errors.New("token: ES256 sign: unexpected signature encoding")
		}
	case EdDSA:
		copy(sig, ed25519.Sign(s.ed, msg))
	}
	return nil
}
