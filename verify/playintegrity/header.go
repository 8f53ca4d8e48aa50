package playintegrity

import (
	"encoding/base64"
	"fmt"
)

// MaxHeader bounds a protected header, in bytes once decoded (Play's are
// about 40).
const MaxHeader = 512

// Header members, as bits of a header's seen set.
const (
	memberAlg = 1 << iota
	memberEnc
	memberKid
	memberTyp
	memberCty
)

// header is a protected header read by readHeader: alg and enc as sent.
type header struct {
	alg, enc string
	seen     int
}

// headerMember is the bit of an allowed member name, 0 for any other.
func headerMember(name []byte) int {
	switch string(name) {
	case "alg":
		return memberAlg
	case "enc":
		return memberEnc
	case "kid":
		return memberKid
	case "typ":
		return memberTyp
	case "cty":
		return memberCty
	}
	return 0
}

// readHeader decodes the b64u protected header part and reads it as a flat
// JSON object whose members are all strings without escapes, each named at
// most once and each in allowed (bits of headerMember): anything else
// (zip, crit, jwk, x5c, jku, b64, a nested value, an escape that could
// spell a name another way) is ErrMalformed. Nothing is allocated but the
// alg and enc strings.
func readHeader(part string, allowed int) (header, error) {
	var h header
	if base64.RawURLEncoding.DecodedLen(len(part)) > MaxHeader {
		return h, fmt.Errorf("%w: header of %d characters", ErrMalformed, len(part))
	}
	var buf [MaxHeader]byte
	n, err := base64.RawURLEncoding.Decode(buf[:], []byte(part))
	if err != nil {
		return h, fmt.Errorf("%w: header is not b64u", ErrMalformed)
	}
	s := flat{b: buf[:n]}
	if !s.eat('{') {
		return h, fmt.Errorf("%w: header is not a JSON object", ErrMalformed)
	}
	for first := true; !s.eat('}'); first = false {
		if !first && !s.eat(',') {
			return h, fmt.Errorf("%w: header is not a flat JSON object of strings", ErrMalformed)
		}
		name, ok1 := s.str()
		ok2 := s.eat(':')
		value, ok3 := s.str()
		if !ok1 || !ok2 || !ok3 {
			return h, fmt.Errorf("%w: header is not a flat JSON object of strings", ErrMalformed)
		}
		bit := headerMember(name)
		if bit&allowed == 0 {
			return h, fmt.Errorf("%w: header member %.32q is not allowed", ErrMalformed, name)
		}
		if h.seen&bit != 0 {
			return h, fmt.Errorf("%w: header member %q repeated", ErrMalformed, name)
		}
		h.seen |= bit
		switch bit {
		case memberAlg:
			h.alg = string(value)
		case memberEnc:
			h.enc = string(value)
		}
	}
	if s.ws(); s.i != len(s.b) {
		return h, fmt.Errorf("%w: data after the header", ErrMalformed)
	}
	return h, nil
}

// flat reads the tokens of a flat JSON object.
type flat struct {
	b []byte
	i int
}

func (s *flat) ws() {
	for s.i < len(s.b) && (s.b[s.i] == ' ' || s.b[s.i] == '\t' || s.b[s.i] == '\n' || s.b[s.i] == '\r') {
		s.i++
	}
}

func (s *flat) eat(c byte) bool {
	s.ws()
	if s.i < len(s.b) && s.b[s.i] == c {
		s.i++
		return true
	}
	return false
}

// str reads a string of printable ASCII without escapes and returns its
// bytes (aliasing the buffer).
func (s *flat) str() ([]byte, bool) {
	if !s.eat('"') {
		return nil, false
	}
	start := s.i
	for s.i < len(s.b) {
		c := s.b[s.i]
		switch {
		case c == '"':
			s.i++
			return s.b[start : s.i-1], true
		case c < 0x20 || c > 0x7e || c == '\\':
			return nil, false
		}
		s.i++
	}
	return nil, false
}
