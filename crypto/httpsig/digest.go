package httpsig

import (
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
)

// ContentDigestField is the field of RFC 9530 that carries a digest of
// the content.
const ContentDigestField = "content-digest"

// AppendContentDigest appends the Content-Digest field value of body:
// sha-256=:b64(SHA-256(body)): (RFC 9530).
func AppendContentDigest(dst, body []byte) []byte {
	sum := sha256.Sum256(body)
	dst = append(dst, "sha-256=:"...)
	dst = base64.StdEncoding.AppendEncode(dst, sum[:])
	return append(dst, ':')
}

// CheckContentDigest checks the Content-Digest field value field against
// body: it must be an sf-dictionary with a sha-256 member, and every
// member of an algorithm this package knows (sha-256, sha-512) must be a
// byte sequence, without parameters, equal to the digest of body.
// Members of other algorithms are ignored (RFC 9530 §2). The error wraps
// ErrDigest.
func CheckContentDigest(field, body []byte) error {
	var d dictionary
	if err := parseDictionary(field, &d); err != nil {
		return fmt.Errorf("%w: %w", ErrDigest, err)
	}
	m256, ok := d.lookup(field, "sha-256")
	if !ok {
		return fmt.Errorf("%w: no sha-256 digest", ErrDigest)
	}
	sum := sha256.Sum256(body)
	if err := checkDigest(field, m256, sum[:]); err != nil {
		return err
	}
	if m512, ok := d.lookup(field, "sha-512"); ok {
		sum := sha512.Sum512(body)
		return checkDigest(field, m512, sum[:])
	}
	return nil
}

// checkDigest checks that member m of src is the byte sequence want.
func checkDigest(src []byte, m *member, want []byte) error {
	var it item
	var ps params
	if m.list || parseItemValue(m.val.of(src), &it, &ps) != nil || it.kind != kBinary || ps.n != 0 {
		return fmt.Errorf("%w: a digest is not a byte sequence", ErrDigest)
	}
	var got [sha512.Size]byte
	if !decodeBinary(got[:len(want)], it.raw.of(m.val.of(src))) {
		return fmt.Errorf("%w: a digest has the wrong length or encoding", ErrDigest)
	}
	if subtle.ConstantTimeCompare(got[:len(want)], want) != 1 {
		return fmt.Errorf("%w: the digest does not match the body", ErrDigest)
	}
	return nil
}
