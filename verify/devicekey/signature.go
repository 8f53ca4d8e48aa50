package devicekey

import (
	"crypto/ecdsa"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
)

const (
	// MaxSignatureLen is the longest Attest-Signature value read, in
	// characters; a DER P-256 signature is at most 72 bytes, 96 characters.
	MaxSignatureLen = 100
	maxSigDER       = MaxSignatureLen * 3 / 4
)

// VerifySignature checks sigB64u, the Attest-Signature header value: the
// base64url (unpadded, canonical) DER ECDSA signature by k over SHA-256 of
// body, the exact request body bytes. Any failure, including an empty or
// over-long header or a zero k, is ErrSignature. As ECDSA verification
// does, it accepts both s and n-s.
func VerifySignature(k Key, body []byte, sigB64u []byte) error {
	var buf SigBuf
	return VerifySignatureBuf(k, body, sigB64u, &buf)
}

// SigBuf is scratch space for a decoded signature. The standard library's
// verification keeps hold of the signature it is given, so a buffer on the
// stack would escape: callers on a hot path pass one they reuse.
type SigBuf [maxSigDER]byte

// VerifySignatureBuf is VerifySignature decoding into buf, which it does
// not keep after returning.
func VerifySignatureBuf(k Key, body []byte, sigB64u []byte, buf *SigBuf) error {
	if k.ecdsa == nil {
		return fmt.Errorf("no device key: %w", ErrSignature)
	}
	der, err := decodeSignature((*[maxSigDER]byte)(buf), sigB64u)
	if err != nil {
		return err
	}
	h := sha256.Sum256(body)
	if !ecdsa.VerifyASN1(k.ecdsa, h[:], der) {
		return fmt.Errorf("does not verify: %w", ErrSignature)
	}
	return nil
}

// decodeSignature decodes s into buf after checking its length and that it
// is canonical unpadded base64url (so one signature has one spelling).
func decodeSignature(buf *[maxSigDER]byte, s []byte) ([]byte, error) {
	switch {
	case len(s) == 0:
		return nil, fmt.Errorf("missing: %w", ErrSignature)
	case len(s) > MaxSignatureLen:
		return nil, fmt.Errorf("%d characters, over %d: %w", len(s), MaxSignatureLen, ErrSignature)
	case len(s)%4 == 1:
		return nil, fmt.Errorf("bad base64url length: %w", ErrSignature)
	}
	for _, c := range s {
		if !isB64u(c) {
			return nil, fmt.Errorf("not unpadded base64url: %w", ErrSignature)
		}
	}
	if !canonicalTail(s) {
		return nil, fmt.Errorf("non-canonical base64url: %w", ErrSignature)
	}
	n, err := base64.RawURLEncoding.Decode(buf[:], s)
	if err != nil {
		return nil, fmt.Errorf("base64url: %w: %w", ErrSignature, err)
	}
	return buf[:n], nil
}

func isB64u(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_'
}

// canonicalTail reports whether the bits that the last character carries
// beyond the decoded bytes are zero, as the encoder writes them.
func canonicalTail(s []byte) bool {
	var v byte
	switch c := s[len(s)-1]; {
	case c >= 'A' && c <= 'Z':
		v = c - 'A'
	case c >= 'a' && c <= 'z':
		v = c - 'a' + 26
	case c >= '0' && c <= '9':
		v = c - '0' + 52
	case c == '-':
		v = 62
	default:
		v = 63
	}
	switch len(s) % 4 {
	case 2:
		return v&0x0f == 0
	case 3:
		return v&0x03 == 0
	}
	return true
}
