package token

import (
	"fmt"
	"strconv"
	"unicode/utf8"
)

const hexDigits = "0123456789abcdef"

// appendString appends s as a JSON string. It escapes '"', '\\', control
// characters and U+2028/U+2029 (as encoding/json does), copies other valid
// UTF-8 as it is, and reports false, leaving dst's contents past its
// original length unspecified, when s is not valid UTF-8.
func appendString(dst []byte, s string) ([]byte, bool) {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < utf8.RuneSelf {
			i++
			continue
		}
		if c < utf8.RuneSelf {
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			return dst, false
		}
		if r == '\u2028' || r == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
			start = i + size
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"'), true
}

// appendClaims appends c as the JSON claims object of a token, members in
// the order iss, sub, aud, iat, exp, jti, did, pay, arc, mon, dbg, cnf.
func appendClaims(dst []byte, c *Claims) ([]byte, error) {
	if c.ExpiresAt == 0 {
		return dst, fmt.Errorf("%w: exp is required", ErrClaims)
	}
	ok := true
	str := func(name, v string) {
		if !ok {
			return
		}
		dst = append(dst, name...)
		dst, ok = appendString(dst, v)
	}
	dst = append(dst, '{')
	str(`"iss":`, c.Issuer)
	str(`,"sub":`, c.Subject)
	str(`,"aud":`, c.Audience)
	dst = append(dst, `,"iat":`...)
	dst = strconv.AppendInt(dst, c.IssuedAt, 10)
	dst = append(dst, `,"exp":`...)
	dst = strconv.AppendInt(dst, c.ExpiresAt, 10)
	str(`,"jti":`, c.ID)
	str(`,"did":`, c.Device)
	if c.Payload != "" {
		str(`,"pay":`, c.Payload)
	}
	if c.Annotation != nil {
		str(`,"arc":`, *c.Annotation)
	}
	if c.Monitor {
		dst = append(dst, `,"mon":true`...)
	}
	if c.Debug != "" {
		str(`,"dbg":`, c.Debug)
	}
	if !ok {
		return dst, fmt.Errorf("%w: a claim is not valid UTF-8", ErrClaims)
	}
	if c.HasConfirmation() {
		if c.Confirmation[0] != 4 {
			return dst, fmt.Errorf("%w: cnf is not an uncompressed point", ErrClaims)
		}
		dst = appendCnf(dst, c.Confirmation[:])
	}
	return append(dst, '}'), nil
}

// appendCnf appends the cnf claim of the uncompressed P-256 point pt:
// ,"cnf":{"jwk":{"kty":"EC","crv":"P-256","x":X,"y":Y}} (RFC 7800 §3.2).
func appendCnf(dst, pt []byte) []byte {
	dst = append(dst, `,"cnf":{"jwk":{"kty":"EC","crv":"P-256","x":"`...)
	dst = b64.AppendEncode(dst, pt[1:33])
	dst = append(dst, `","y":"`...)
	dst = b64.AppendEncode(dst, pt[33:65])
	return append(dst, `"}}`...)
}
