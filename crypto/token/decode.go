package token

import (
	"bytes"
	"fmt"

	"github.com/attestd/attestd/verify/jsonscan"
)

// maxDepth bounds the nesting of JSON values this package skips over.
const maxDepth = 32

// newScanner returns a reader of b, a buffer this package owns (never a
// caller's bytes): strings are decoded in place (str). It is stricter than
// encoding/json: invalid UTF-8, lone surrogates and nesting deeper than
// maxDepth are errors.
func newScanner(b []byte) jsonscan.Scanner {
	return jsonscan.Scanner{B: b, Max: maxDepth, UTF8: true}
}

// str reads a string and returns its value, decoded in place: a subslice of
// s.B valid until the buffer is reused.
func str(s *jsonscan.Scanner) ([]byte, bool) {
	raw, plain, err := s.Str()
	if err != nil {
		return nil, false
	}
	if !plain {
		raw, _ = jsonscan.AppendDecoded(raw[:0], raw, len(raw)) // read strictly: it fits
	}
	return raw, true
}

// integer reads a JSON integer that fits in an int64 (jsonscan's Int64).
func integer(s *jsonscan.Scanner) (int64, bool) {
	v, err := s.Int64()
	return v, err == nil
}

// parseHeader reads a decoded JOSE header. It returns alg and kid (subslices
// of b, which it rewrites). alg and kid are required; typ, when present,
// must be "JWT" (compared without regard to ASCII case, as media types are);
// a "crit" member is refused, since this package understands no extension;
// a duplicate member is refused; other members are ignored.
func parseHeader(b []byte) (alg, kid []byte, err error) {
	s := newScanner(b)
	var seen uint8
	const (
		hasAlg = 1 << iota
		hasKID
		hasTyp
	)
	if s.Peek() != '{' {
		return nil, nil, fmt.Errorf("%w: header is not a JSON object", ErrMalformed)
	}
	m := jsonscan.Members{S: &s}
	var name [8]byte // the names this package knows are shorter
	for m.Next() {
		var bit uint8
		var v []byte
		ok := true
		switch string(m.Name(name[:0])) {
		case "alg":
			bit = hasAlg
			alg, ok = str(&s)
		case "kid":
			bit = hasKID
			kid, ok = str(&s)
		case "typ":
			bit = hasTyp
			v, ok = str(&s)
			if ok && !bytes.EqualFold(v, []byte("JWT")) {
				return nil, nil, fmt.Errorf("%w: header typ is not JWT", ErrMalformed)
			}
		case "crit":
			return nil, nil, fmt.Errorf("%w: header has crit", ErrMalformed)
		default:
			ok = s.Skip(0) == nil
		}
		if !ok {
			return nil, nil, fmt.Errorf("%w: header member is not valid JSON or not a string", ErrMalformed)
		}
		if seen&bit != 0 {
			return nil, nil, fmt.Errorf("%w: duplicate header member", ErrMalformed)
		}
		seen |= bit
	}
	if m.Err != nil {
		return nil, nil, fmt.Errorf("%w: header is not valid JSON", ErrMalformed)
	}
	if !s.End() {
		return nil, nil, fmt.Errorf("%w: data after the header object", ErrMalformed)
	}
	if seen&hasAlg == 0 || seen&hasKID == 0 {
		return nil, nil, fmt.Errorf("%w: header lacks alg or kid", ErrMalformed)
	}
	return alg, kid, nil
}

// claim bits, for duplicate detection in decodeClaims.
const (
	cIss = 1 << iota
	cSub
	cAud
	cIat
	cExp
	cNbf
	cJti
	cDid
	cPay
	cArc
	cMon
	cDbg
	cCnf
)

// decodeClaims reads the decoded claims JSON held in v.buf into v's fields,
// which then point into v.buf. Known claims must have their JSON type
// (strings; integers for iat, exp and nbf; a boolean for mon; aud a single
// string; cnf as decodeCnf reads it); exp is required; duplicates are
// refused; unknown claims are ignored. It returns
// nbf and which claims were present (the c* bits).
func decodeClaims(v *Verified) (nbf int64, seen uint16, err error) {
	s := newScanner(v.buf)
	if s.Peek() != '{' {
		return 0, 0, fmt.Errorf("%w: claims are not a JSON object", ErrMalformed)
	}
	m := jsonscan.Members{S: &s}
	var name [8]byte // the names this package knows are shorter
	for m.Next() {
		var bit uint16
		ok := true
		switch string(m.Name(name[:0])) {
		case "iss":
			bit = cIss
			v.Issuer, ok = str(&s)
		case "sub":
			bit = cSub
			v.Subject, ok = str(&s)
		case "aud":
			bit = cAud
			v.Audience, ok = str(&s)
		case "iat":
			bit = cIat
			v.IssuedAt, ok = integer(&s)
		case "exp":
			bit = cExp
			v.ExpiresAt, ok = integer(&s)
		case "nbf":
			bit = cNbf
			nbf, ok = integer(&s)
		case "jti":
			bit = cJti
			v.ID, ok = str(&s)
		case "did":
			bit = cDid
			v.Device, ok = str(&s)
		case "pay":
			bit = cPay
			v.Payload, ok = str(&s)
		case "arc":
			bit = cArc
			v.Annotation, ok = str(&s)
			v.HasAnnotation = ok
		case "mon":
			bit = cMon
			var err error
			v.Monitor, err = s.Bool()
			ok = err == nil
		case "dbg":
			bit = cDbg
			v.Debug, ok = str(&s)
		case "cnf":
			bit = cCnf
			ok = decodeCnf(&s, v)
		default:
			ok = s.Skip(0) == nil
		}
		if !ok {
			return 0, 0, fmt.Errorf("%w: claim is not valid JSON or has the wrong type", ErrMalformed)
		}
		if seen&bit != 0 {
			return 0, 0, fmt.Errorf("%w: duplicate claim", ErrMalformed)
		}
		seen |= bit
	}
	if m.Err != nil {
		return 0, 0, fmt.Errorf("%w: claims are not valid JSON", ErrMalformed)
	}
	if !s.End() {
		return 0, 0, fmt.Errorf("%w: data after the claims object", ErrMalformed)
	}
	if seen&cExp == 0 {
		return 0, 0, fmt.Errorf("%w: exp is missing", ErrMalformed)
	}
	return nbf, seen, nil
}

// decodeCnf reads the cnf claim (RFC 7800) into v.Confirmation: an object
// whose one member is jwk, an EC P-256 public key {"kty":"EC",
// "crv":"P-256","x":X,"y":Y} with 32-byte coordinates. A confirmation
// method other than jwk, another key type or curve, a private part (d), or
// a duplicate member is refused: a token bound to a key this package
// cannot name must not pass as unbound. Other JWK members are ignored.
func decodeCnf(s *jsonscan.Scanner, v *Verified) bool {
	jwk := false
	m := jsonscan.Members{S: s}
	var name [8]byte
	for m.Next() {
		if string(m.Name(name[:0])) != "jwk" || jwk || !decodeCnfJWK(s, v) {
			return false
		}
		jwk = true
	}
	v.HasConfirmation = jwk && m.Err == nil
	return v.HasConfirmation
}

// decodeCnfJWK reads the jwk member of cnf into v.Confirmation.
func decodeCnfJWK(s *jsonscan.Scanner, v *Verified) bool {
	const (
		hasKty = 1 << iota
		hasCrv
		hasX
		hasY
	)
	var seen uint8
	m := jsonscan.Members{S: s}
	var name [8]byte
	for m.Next() {
		var bit uint8
		switch string(m.Name(name[:0])) {
		case "kty":
			bit = hasKty
		case "crv":
			bit = hasCrv
		case "x":
			bit = hasX
		case "y":
			bit = hasY
		case "d":
			return false
		}
		if seen&bit != 0 {
			return false
		}
		seen |= bit
		if bit == 0 {
			m.Err = s.Skip(2)
		} else if !decodeJWKMember(s, bit, v) {
			return false
		}
	}
	v.Confirmation[0] = 4
	return m.Err == nil && seen == hasKty|hasCrv|hasX|hasY
}

// decodeJWKMember reads the string value of the jwk member bit (kty 1,
// crv 2, x 4, y 8 of decodeCnfJWK) and checks it.
func decodeJWKMember(s *jsonscan.Scanner, bit uint8, v *Verified) bool {
	val, ok := str(s)
	if !ok {
		return false
	}
	switch bit {
	case 1:
		return string(val) == "EC"
	case 2:
		return string(val) == "P-256"
	case 4:
		return decodeCoord(v.Confirmation[1:33], val)
	}
	return decodeCoord(v.Confirmation[33:65], val)
}

// decodeCoord decodes enc, 43 characters of b64u, into dst (32 bytes).
func decodeCoord(dst, enc []byte) bool {
	if len(enc) != 43 {
		return false
	}
	var c [33]byte
	n, err := b64.Decode(c[:], enc)
	if err != nil || n != 32 {
		return false
	}
	copy(dst, c[:32])
	return true
}
