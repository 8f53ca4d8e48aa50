package playintegrity

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"fmt"

	"github.com/attestd/attestd/crypto/secret"
)

// DecryptionKeySize is the size of the AES-256 decryption key.
const DecryptionKeySize = 32

// maxKeyText bounds the base64 text of a key before it is decoded (a P-256
// SPKI is 91 bytes, 124 characters).
const maxKeyText = 512

// KeyPair is one pair of response encryption keys from Play Console: the
// AES-256 key that unwraps the token's content key, and the EC P-256 key
// that verifies its signature. It is immutable; the zero value holds no
// keys and opens nothing.
type KeyPair struct {
	decryption   secret.Value
	verification *ecdsa.PublicKey
}

// ParseDecryptionKey reads a decryption key as Play Console gives it and a
// bundle holds it: standard base64 (RFC 4648 §4, padded) of 32 bytes. An
// error wraps ErrKey and never holds the key.
func ParseDecryptionKey(b64 []byte) (secret.Value, error) {
	if len(b64) > maxKeyText {
		return secret.Value{}, fmt.Errorf("%w: decryption key of %d characters", ErrKey, len(b64))
	}
	var raw [maxKeyText]byte
	n, err := base64.StdEncoding.Strict().Decode(raw[:], b64)
	defer clear(raw[:])
	if err != nil {
		return secret.Value{}, fmt.Errorf("%w: decryption key is not standard base64", ErrKey)
	}
	if n != DecryptionKeySize {
		return secret.Value{}, fmt.Errorf("%w: decryption key of %d bytes, want %d (AES-256)", ErrKey, n, DecryptionKeySize)
	}
	return secret.New(raw[:n]), nil
}

// ParseVerificationKey reads a verification key as Play Console gives it
// and a bundle holds it: standard base64 of the DER SubjectPublicKeyInfo of
// an EC P-256 public key. An error wraps ErrKey.
func ParseVerificationKey(b64 []byte) (*ecdsa.PublicKey, error) {
	if len(b64) > maxKeyText {
		return nil, fmt.Errorf("%w: verification key of %d characters", ErrKey, len(b64))
	}
	der, err := base64.StdEncoding.Strict().DecodeString(string(b64))
	if err != nil {
		return nil, fmt.Errorf("%w: verification key is not standard base64", ErrKey)
	}
	pub, err := x509.ParsePKIXPublicKey(der)
	if err != nil {
		return nil, fmt.Errorf("%w: verification key is not a DER SubjectPublicKeyInfo", ErrKey)
	}
	ec, ok := pub.(*ecdsa.PublicKey)
	if !ok || ec.Curve != elliptic.P256() {
		return nil, fmt.Errorf("%w: verification key is not an EC P-256 key", ErrKey)
	}
	return ec, nil
}

// NewKeyPair parses a pair (each key as ParseDecryptionKey and
// ParseVerificationKey read it).
func NewKeyPair(decryptionKey, verificationKey []byte) (KeyPair, error) {
	dec, err := ParseDecryptionKey(decryptionKey)
	if err != nil {
		return KeyPair{}, err
	}
	ver, err := ParseVerificationKey(verificationKey)
	if err != nil {
		return KeyPair{}, err
	}
	return KeyPair{decryption: dec, verification: ver}, nil
}

// Fingerprint is b64u of the SHA-256 of the verification key's SPKI DER:
// public, and enough to tell which pair is configured ("" for the zero
// KeyPair).
func (p KeyPair) Fingerprint() string {
	if p.verification == nil {
		return ""
	}
	der, err := x509.MarshalPKIXPublicKey(p.verification)
	if err != nil {
		return ""
	}
	sum := sha256.Sum256(der)
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// KeySet is the pairs a token may be made with: the current pair, then,
// during a rotation, the previous one (PROTOCOL.md §10: Play Console
// switches to new keys at once, and tokens already requested with the old
// ones are still in flight). A nil *KeySet holds none.
type KeySet struct {
	pairs []KeyPair
}

// MaxPairs is the most pairs a KeySet holds: the current and the previous.
const MaxPairs = 2

// NewKeySet returns the set of current and, when given, previous. An error
// wraps ErrKey.
func NewKeySet(current KeyPair, previous ...KeyPair) (*KeySet, error) {
	if len(previous) > MaxPairs-1 {
		return nil, fmt.Errorf("%w: at most %d key pairs", ErrKey, MaxPairs)
	}
	s := &KeySet{pairs: append([]KeyPair{current}, previous...)}
	for _, p := range s.pairs {
		if p.decryption.Len() != DecryptionKeySize || p.verification == nil {
			return nil, fmt.Errorf("%w: an empty key pair", ErrKey)
		}
	}
	return s, nil
}

// Len is the number of pairs (0 for nil).
func (s *KeySet) Len() int {
	if s == nil {
		return 0
	}
	return len(s.pairs)
}

// Format prints the fingerprints, never the decryption keys.
func (s *KeySet) Format(f fmt.State, _ rune) {
	if s == nil {
		fmt.Fprint(f, "playintegrity.KeySet(nil)")
		return
	}
	fps := make([]string, len(s.pairs))
	for i, p := range s.pairs {
		fps[i] = p.Fingerprint()
	}
	fmt.Fprintf(f, "playintegrity.KeySet%v", fps)
}

// Format prints the pair's fingerprint, never its decryption key.
func (p KeyPair) Format(f fmt.State, _ rune) {
	fmt.Fprintf(f, "playintegrity.KeyPair(%s)", p.Fingerprint())
}
