package platform

import (
	"bytes"
	"errors"
	"unicode/utf16"
	"unicode/utf8"
)

// A one-pass reader of JSON (RFC 8259) for the platform_attestation object:
// it validates what it skips and returns strings as the raw bytes between
// their quotes, so that a 64 KiB chain is read once and base64-decoded from
// the input (encoding/json reads it three times: validation, scanning,
// unquoting). Nesting deeper than maxDepth is refused; nothing recurses
// deeper.

// maxDepth bounds the nesting of arrays and objects skipped in unknown
// members (encoding/json allows 10,000).
const maxDepth = 32

var errJSON = errors.New("invalid JSON")

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

// peek returns the next byte after whitespace, 0 at the end.
func (s *scanner) peek() byte {
	s.ws()
	if s.i < len(s.b) {
		return s.b[s.i]
	}
	return 0
}

// eat consumes c after whitespace.
func (s *scanner) eat(c byte) bool {
	if s.peek() != c {
		return false
	}
	s.i++
	return true
}

// literal consumes word (true, false, null) after whitespace.
func (s *scanner) literal(word string) bool {
	s.ws()
	if len(s.b)-s.i < len(word) || string(s.b[s.i:s.i+len(word)]) != word {
		return false
	}
	s.i += len(word)
	return true
}

// str reads a string after whitespace and returns its raw contents (between
// the quotes, escapes as sent) and whether it is plain: printable ASCII
// without escapes, its raw bytes its value. The span up to the closing
// quote is found with bytes.IndexByte and checked in one pass.
func (s *scanner) str() (raw []byte, isPlain bool, err error) {
	if !s.eat('"') {
		return nil, false, errJSON
	}
	start, isPlain := s.i, true
	for {
		j := bytes.IndexByte(s.b[s.i:], '"')
		if j < 0 {
			return nil, false, errJSON
		}
		end := s.i + j
		for s.i < end {
			c := s.b[s.i]
			switch {
			case c-0x20 < 0x60 && c != '\\': // printable ASCII
				s.i++
			case c < 0x20:
				return nil, false, errJSON
			case c != '\\':
				isPlain = false
				s.i++
			default:
				n, ok := escapeLen(s.b[s.i:])
				if !ok {
					return nil, false, errJSON
				}
				isPlain = false
				s.i += n
			}
		}
		if s.i == end { // the quote found closes the string
			s.i++
			return s.b[start:end], isPlain, nil
		}
		// An escape (\") took the quote found: search on.
	}
}

// escapeLen is the length of the valid escape at the start of b.
func escapeLen(b []byte) (int, bool) {
	if len(b) < 2 {
		return 0, false
	}
	switch b[1] {
	case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
		return 2, true
	case 'u':
		return 6, len(b) >= 6 && isHex4(b[2:6])
	}
	return 0, false
}

func isHex4(b []byte) bool {
	for _, c := range b {
		if hexVal(c) < 0 {
			return false
		}
	}
	return true
}

func hexVal(c byte) int {
	switch {
	case '0' <= c && c <= '9':
		return int(c - '0')
	case 'a' <= c && c <= 'f':
		return int(c-'a') + 10
	case 'A' <= c && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}

// number reads a JSON number after whitespace.
func (s *scanner) number() error {
	s.ws()
	s.eatByte('-')
	switch {
	case s.eatByte('0'):
	case s.digits() == 0:
		return errJSON
	}
	if s.eatByte('.') && s.digits() == 0 {
		return errJSON
	}
	if s.eatByte('e') || s.eatByte('E') {
		if !s.eatByte('+') {
			s.eatByte('-')
		}
		if s.digits() == 0 {
			return errJSON
		}
	}
	return nil
}

func (s *scanner) eatByte(c byte) bool {
	if s.i < len(s.b) && s.b[s.i] == c {
		s.i++
		return true
	}
	return false
}

func (s *scanner) digits() int {
	n := 0
	for s.i < len(s.b) && '0' <= s.b[s.i] && s.b[s.i] <= '9' {
		s.i++
		n++
	}
	return n
}

// skip reads and validates any value, nested at most maxDepth-depth deep.
func (s *scanner) skip(depth int) error {
	switch s.peek() {
	case '"':
		_, _, err := s.str()
		return err
	case 't':
		return s.want(s.literal("true"))
	case 'f':
		return s.want(s.literal("false"))
	case 'n':
		return s.want(s.literal("null"))
	case '[', '{':
		if depth >= maxDepth {
			return errJSON
		}
		return s.container(depth + 1)
	}
	return s.number()
}

func (s *scanner) want(ok bool) error {
	if !ok {
		return errJSON
	}
	return nil
}

// container reads an array or object whose opening byte is next.
func (s *scanner) container(depth int) error {
	obj := s.b[s.i] == '{'
	end := byte(']')
	if obj {
		end = '}'
	}
	s.i++
	if s.eat(end) {
		return nil
	}
	for {
		if obj {
			if _, _, err := s.str(); err != nil {
				return err
			}
			if !s.eat(':') {
				return errJSON
			}
		}
		if err := s.skip(depth); err != nil {
			return err
		}
		if s.eat(end) {
			return nil
		}
		if !s.eat(',') {
			return errJSON
		}
	}
}

// decodeString returns the string raw (valid, from str) denotes, as
// encoding/json decodes it: escapes resolved, a lone or invalid surrogate
// and each byte of invalid UTF-8 replaced by U+FFFD.
func decodeString(raw []byte) []byte {
	out := make([]byte, 0, len(raw))
	for i := 0; i < len(raw); {
		c := raw[i]
		switch {
		case c == '\\' && raw[i+1] == 'u':
			r := rune(hex4(raw[i+2:]))
			i += 6
			if utf16.IsSurrogate(r) {
				r2 := rune(utf8.RuneError)
				if i+6 <= len(raw) && raw[i] == '\\' && raw[i+1] == 'u' {
					r2 = rune(hex4(raw[i+2:]))
				}
				if r = utf16.DecodeRune(r, r2); r != utf8.RuneError {
					i += 6
				}
			}
			out = utf8.AppendRune(out, r)
		case c == '\\':
			out = append(out, unescapeByte(raw[i+1]))
			i += 2
		case c < utf8.RuneSelf:
			out = append(out, c)
			i++
		default:
			r, n := utf8.DecodeRune(raw[i:])
			out = utf8.AppendRune(out, r) // RuneError for one invalid byte (n == 1)
			i += n
		}
	}
	return out
}

func unescapeByte(e byte) byte {
	switch e {
	case 'b':
		return '\b'
	case 'f':
		return '\f'
	case 'n':
		return '\n'
	case 'r':
		return '\r'
	case 't':
		return '\t'
	}
	return e // '"', '\\', '/'
}

func hex4(b []byte) int {
	return hexVal(b[0])<<12 | hexVal(b[1])<<8 | hexVal(b[2])<<4 | hexVal(b[3])
}
