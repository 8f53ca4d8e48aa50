package token

import (
	"bytes"
	"fmt"
)

// parseHeader reads a decoded JOSE header. It returns alg and kid (subslices
// of b, which it rewrites). alg and kid are required; typ, when present,
// must be "JWT" (compared without regard to ASCII case, as media types are);
// a "crit" member is refused, since this package understands no extension;
// a duplicate member is refused; other members are ignored.
func parseHeader(b []byte) (alg, kid []byte, err error) {
	s := scanner{b: b}
	var seen uint8
	const (
		hasAlg = 1 << iota
		hasKID
		hasTyp
	)
	if !s.consume('{') {
		return nil, nil, fmt.Errorf("%w: header is not a JSON object", ErrMalformed)
	}
	for first := true; ; first = false {
		if first && s.consume('}') {
			break
		}
		key, ok := s.str()
		if !ok || !s.consume(':') {
			return nil, nil, fmt.Errorf("%w: header is not valid JSON", ErrMalformed)
		}
		var bit uint8
		var v []byte
		switch string(key) {
		case "alg":
			bit = hasAlg
			alg, ok = s.str()
		case "kid":
			bit = hasKID
			kid, ok = s.str()
		case "typ":
			bit = hasTyp
			v, ok = s.str()
			if ok && !bytes.EqualFold(v, []byte("JWT")) {
				return nil, nil, fmt.Errorf("%w: header typ is not JWT", ErrMalformed)
			}
		case "crit":
			return nil, nil, fmt.Errorf("%w: header has crit", ErrMalformed)
		default:
			ok = s.skip(0)
		}
		if !ok {
			return nil, nil, fmt.Errorf("%w: header member is not valid JSON or not a string", ErrMalformed)
		}
		if seen&bit != 0 {
			return nil, nil, fmt.Errorf("%w: duplicate header member", ErrMalformed)
		}
		seen |= bit
		if s.consume(',') {
			continue
		}
		if !s.consume('}') {
			return nil, nil, fmt.Errorf("%w: header is not valid JSON", ErrMalformed)
		}
		break
	}
	if !s.end() {
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
	s := scanner{b: v.buf}
	if !s.consume('{') {
		return 0, 0, fmt.Errorf("%w: claims are not a JSON object", ErrMalformed)
	}
	for first := true; ; first = false {
		if first && s.consume('}') {
			break
		}
		key, ok := s.str()
		if !ok || !s.consume(':') {
			return 0, 0, fmt.Errorf("%w: claims are not valid JSON", ErrMalformed)
		}
		var bit uint16
		switch string(key) {
		case "iss":
			bit = cIss
			v.Issuer, ok = s.str()
		case "sub":
			bit = cSub
			v.Subject, ok = s.str()
		case "aud":
			bit = cAud
			v.Audience, ok = s.str()
		case "iat":
			bit = cIat
			v.IssuedAt, ok = s.int64()
		case "exp":
			bit = cExp
			v.ExpiresAt, ok = s.int64()
		case "nbf":
			bit = cNbf
			nbf, ok = s.int64()
		case "jti":
			bit = cJti
			v.ID, ok = s.str()
		case "did":
			bit = cDid
			v.Device, ok = s.str()
		case "pay":
			bit = cPay
			v.Payload, ok = s.str()
		case "arc":
			bit = cArc
			v.Annotation, ok = s.str()
			v.HasAnnotation = ok
		case "mon":
			bit = cMon
			v.Monitor, ok = s.boolean()
		case "dbg":
			bit = cDbg
			v.Debug, ok = s.str()
		case "cnf":
			bit = cCnf
			ok = decodeCnf(&s, v)
		default:
			ok = s.skip(0)
		}
		if !ok {
			return 0, 0, fmt.Errorf("%w: claim is not valid JSON or has the wrong type", ErrMalformed)
		}
		if seen&bit != 0 {
			return 0, 0, fmt.Errorf("%w: duplicate claim", ErrMalformed)
		}
		seen |= bit
		if s.consume(',') {
			continue
		}
		if !s.consume('}') {
			return 0, 0, fmt.Errorf("%w: claims are not valid JSON", ErrMalformed)
		}
		break
	}
	if !s.end() {
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
func decodeCnf(s *scanner, v *Verified) bool {
	if !s.consume('{') {
		return false
	}
	jwk := false
	for first := true; ; first = false {
		if first && s.consume('}') {
			break
		}
		key, ok := s.str()
		if !ok || !s.consume(':') || string(key) != "jwk" || jwk || !decodeCnfJWK(s, v) {
			return false
		}
		jwk = true
		if s.consume(',') {
			continue
		}
		if !s.consume('}') {
			return false
		}
		break
	}
	v.HasConfirmation = jwk
	return jwk
}

// decodeCnfJWK reads the jwk member of cnf into v.Confirmation.
func decodeCnfJWK(s *scanner, v *Verified) bool {
	const (
		hasKty = 1 << iota
		hasCrv
		hasX
		hasY
	)
	var seen uint8
	if !s.consume('{') {
		return false
	}
	for first := true; ; first = false {
		if first && s.consume('}') {
			break
		}
		key, ok := s.str()
		if !ok || !s.consume(':') {
			return false
		}
		var bit uint8
		switch string(key) {
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
			ok = s.skip(2)
		} else {
			ok = decodeJWKMember(s, bit, v)
		}
		if !ok {
			return false
		}
		if s.consume(',') {
			continue
		}
		if !s.consume('}') {
			return false
		}
		break
	}
	v.Confirmation[0] = 4
	return seen == hasKty|hasCrv|hasX|hasY
}

// decodeJWKMember reads the string value of the jwk member bit (kty 1,
// crv 2, x 4, y 8 of decodeCnfJWK) and checks it.
func decodeJWKMember(s *scanner, bit uint8, v *Verified) bool {
	val, ok := s.str()
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
