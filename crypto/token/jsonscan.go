package token

import "unicode/utf8"

// maxDepth bounds the nesting of JSON values this package skips over.
const maxDepth = 32

// scanner reads one JSON document (RFC 8259) held in a buffer that this
// package owns: string contents are unescaped in place, so it is never given
// a caller's bytes. It is stricter than encoding/json: invalid UTF-8, lone
// surrogates and nesting deeper than maxDepth are errors. Every method
// reports false on a syntax error and then leaves the scanner unusable.
type scanner struct {
	b []byte
	i int
}

func (s *scanner) ws() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// consume skips white space and then c, reporting whether c was there.
func (s *scanner) consume(c byte) bool {
	s.ws()
	if s.i < len(s.b) && s.b[s.i] == c {
		s.i++
		return true
	}
	return false
}

// end skips trailing white space and reports whether nothing else follows.
func (s *scanner) end() bool {
	s.ws()
	return s.i == len(s.b)
}

// str reads a string and returns its unescaped content, a subslice of s.b
// valid until the buffer is reused.
func (s *scanner) str() ([]byte, bool) {
	if !s.consume('"') {
		return nil, false
	}
	start, w := s.i, s.i
	for s.i < len(s.b) {
		c := s.b[s.i]
		switch {
		case c == '"':
			s.i++
			return s.b[start:w], true
		case c == '\\':
			var ok bool
			if w, ok = s.escape(w); !ok {
				return nil, false
			}
		case c < 0x20:
			return nil, false
		case c < utf8.RuneSelf:
			s.b[w] = c
			w++
			s.i++
		default:
			r, size := utf8.DecodeRune(s.b[s.i:])
			if r == utf8.RuneError && size == 1 {
				return nil, false
			}
			w += copy(s.b[w:], s.b[s.i:s.i+size])
			s.i += size
		}
	}
	return nil, false
}

// escape decodes the escape sequence at s.i (a backslash), writes its UTF-8
// at w and returns the new write position. Every escape is at least as long
// as what it decodes to, so w never passes s.i.
func (s *scanner) escape(w int) (int, bool) {
	if s.i+1 >= len(s.b) {
		return w, false
	}
	c := s.b[s.i+1]
	s.i += 2
	switch c {
	case '"', '\\', '/':
	case 'b':
		c = '\b'
	case 'f':
		c = '\f'
	case 'n':
		c = '\n'
	case 'r':
		c = '\r'
	case 't':
		c = '\t'
	case 'u':
		r, ok := s.hex4()
		if !ok {
			return w, false
		}
		if r >= 0xDC00 && r <= 0xDFFF {
			return w, false // a low surrogate first
		}
		if r >= 0xD800 && r <= 0xDBFF {
			if s.i+1 >= len(s.b) || s.b[s.i] != '\\' || s.b[s.i+1] != 'u' {
				return w, false
			}
			s.i += 2
			lo, ok := s.hex4()
			if !ok || lo < 0xDC00 || lo > 0xDFFF {
				return w, false
			}
			r = 0x10000 + (r-0xD800)<<10 + (lo - 0xDC00)
		}
		return w + utf8.EncodeRune(s.b[w:], r), true
	default:
		return w, false
	}
	s.b[w] = c
	return w + 1, true
}

func (s *scanner) hex4() (rune, bool) {
	if s.i+4 > len(s.b) {
		return 0, false
	}
	var r rune
	for _, c := range s.b[s.i : s.i+4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c -= 'a' - 10
		case c >= 'A' && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	s.i += 4
	return r, true
}

// int64 reads a JSON number that is an integer (no fraction, no exponent)
// fitting in an int64.
func (s *scanner) int64() (int64, bool) {
	s.ws()
	neg := s.i < len(s.b) && s.b[s.i] == '-'
	if neg {
		s.i++
	}
	start := s.i
	var u uint64
	for s.i < len(s.b) && s.b[s.i] >= '0' && s.b[s.i] <= '9' {
		d := uint64(s.b[s.i] - '0')
		if u > (1<<63-d)/10 { // u*10+d would exceed 1<<63
			return 0, false
		}
		u = u*10 + d
		s.i++
	}
	n := s.i - start
	if n == 0 || (n > 1 && s.b[start] == '0') {
		return 0, false
	}
	if s.i < len(s.b) && (s.b[s.i] == '.' || s.b[s.i] == 'e' || s.b[s.i] == 'E') {
		return 0, false
	}
	if neg {
		return -int64(u), true // u ≤ 1<<63, and -(1<<63) wraps to itself
	}
	if u > 1<<63-1 {
		return 0, false
	}
	return int64(u), true
}

// boolean reads a JSON true or false.
func (s *scanner) boolean() (v, ok bool) {
	s.ws()
	switch {
	case s.literal("true"):
		return true, true
	case s.literal("false"):
		return false, true
	}
	return false, false
}

// skip reads and discards any one JSON value.
func (s *scanner) skip(depth int) bool {
	s.ws()
	if s.i >= len(s.b) {
		return false
	}
	switch s.b[s.i] {
	case '"':
		_, ok := s.str()
		return ok
	case '{':
		return s.skipComposite(depth, '{', '}')
	case '[':
		return s.skipComposite(depth, '[', ']')
	case 't':
		return s.literal("true")
	case 'f':
		return s.literal("false")
	case 'n':
		return s.literal("null")
	}
	return s.number()
}

// skipComposite skips an object (open '{') or an array (open '[').
func (s *scanner) skipComposite(depth int, open, close byte) bool {
	if depth >= maxDepth || !s.consume(open) {
		return false
	}
	if s.consume(close) {
		return true
	}
	for {
		if open == '{' {
			if _, ok := s.str(); !ok || !s.consume(':') {
				return false
			}
		}
		if !s.skip(depth + 1) {
			return false
		}
		if s.consume(',') {
			continue
		}
		return s.consume(close)
	}
}

func (s *scanner) literal(lit string) bool {
	if len(s.b)-s.i < len(lit) || string(s.b[s.i:s.i+len(lit)]) != lit {
		return false
	}
	s.i += len(lit)
	return true
}

// number skips a JSON number: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func (s *scanner) number() bool {
	if s.i < len(s.b) && s.b[s.i] == '-' {
		s.i++
	}
	if s.i < len(s.b) && s.b[s.i] == '0' {
		s.i++
	} else if s.digits() == 0 {
		return false
	}
	if s.i < len(s.b) && s.b[s.i] == '.' {
		s.i++
		if s.digits() == 0 {
			return false
		}
	}
	if s.i < len(s.b) && (s.b[s.i] == 'e' || s.b[s.i] == 'E') {
		s.i++
		if s.i < len(s.b) && (s.b[s.i] == '+' || s.b[s.i] == '-') {
			s.i++
		}
		if s.digits() == 0 {
			return false
		}
	}
	return true
}

func (s *scanner) digits() int {
	start := s.i
	for s.i < len(s.b) && s.b[s.i] >= '0' && s.b[s.i] <= '9' {
		s.i++
	}
	return s.i - start
}

// object reads an object, calling member with each member's name (which is
// valid only during the call) when the scanner is at the member's value;
// member must read the value. For the unhurried parsers (JWKS) only.
func (s *scanner) object(member func(name []byte) bool) bool {
	if !s.consume('{') {
		return false
	}
	if s.consume('}') {
		return true
	}
	for {
		name, ok := s.str()
		if !ok || !s.consume(':') || !member(name) {
			return false
		}
		if s.consume(',') {
			continue
		}
		return s.consume('}')
	}
}

// array reads an array, calling elem at each element, which elem must read.
func (s *scanner) array(elem func() bool) bool {
	if !s.consume('[') {
		return false
	}
	if s.consume(']') {
		return true
	}
	for {
		if !elem() {
			return false
		}
		if s.consume(',') {
			continue
		}
		return s.consume(']')
	}
}
