// Package jsonscan is a one-pass reader of JSON (RFC 8259) for the
// verifiers' inputs (the platform_attestation object, a Play Integrity
// verdict): it validates what it skips and returns strings as the raw
// bytes between their quotes, so that a 64 KiB chain is read once and
// base64-decoded from the input (encoding/json reads it three times:
// validation, scanning, unquoting). Nesting deeper than the scanner's
// bound is refused; nothing recurses deeper.
//
// Only packages under verify import it. It imports the standard library.
package jsonscan

import (
	"bytes"
	"errors"
	"unicode/utf16"
	"unicode/utf8"
)

// MaxDepth is the default bound of the nesting of arrays and objects
// skipped (encoding/json allows 10,000).
const MaxDepth = 32

// ErrJSON is the error of input that is not JSON.
var ErrJSON = errors.New("invalid JSON")

// Scanner reads B from I. Max bounds the nesting Skip accepts (0:
// MaxDepth). The zero value reads nothing; a Scanner is not safe for
// concurrent use, and the strings it returns alias B.
type Scanner struct {
	B   []byte
	I   int
	Max int
}

// End reports whether nothing but whitespace is left.
func (s *Scanner) End() bool { return s.Peek() == 0 && s.I == len(s.B) }

func (s *Scanner) ws() {
	for s.I < len(s.B) {
		switch s.B[s.I] {
		case ' ', '\t', '\n', '\r':
			s.I++
		default:
			return
		}
	}
}

// Peek returns the next byte after whitespace, 0 at the end.
func (s *Scanner) Peek() byte {
	s.ws()
	if s.I < len(s.B) {
		return s.B[s.I]
	}
	return 0
}

// Eat consumes c after whitespace.
func (s *Scanner) Eat(c byte) bool {
	if s.Peek() != c {
		return false
	}
	s.I++
	return true
}

// Literal consumes word (true, false, null) after whitespace.
func (s *Scanner) Literal(word string) bool {
	s.ws()
	if len(s.B)-s.I < len(word) || string(s.B[s.I:s.I+len(word)]) != word {
		return false
	}
	s.I += len(word)
	return true
}

// Str reads a string after whitespace and returns its raw contents (between
// the quotes, escapes as sent) and whether it is plain: printable ASCII
// without escapes, its raw bytes its value. The span up to the closing
// quote is found with bytes.IndexByte and checked in one pass: first
// without a branch per byte (plainSpan), which settles the common case of
// a long base64 string, then byte by byte when it holds anything else.
func (s *Scanner) Str() (raw []byte, isPlain bool, err error) {
	if !s.Eat('"') {
		return nil, false, ErrJSON
	}
	start, isPlain := s.I, true
	for {
		j := bytes.IndexByte(s.B[s.I:], '"')
		if j < 0 {
			return nil, false, ErrJSON
		}
		end := s.I + j
		if plainSpan(s.B[s.I:end]) {
			s.I = end
		}
		for s.I < end {
			c := s.B[s.I]
			switch {
			case c-0x20 < 0x60 && c != '\\': // printable ASCII
				s.I++
			case c < 0x20:
				return nil, false, ErrJSON
			case c != '\\':
				isPlain = false
				s.I++
			default:
				n, ok := escapeLen(s.B[s.I:])
				if !ok {
					return nil, false, ErrJSON
				}
				isPlain = false
				s.I += n
			}
		}
		if s.I == end { // the quote found closes the string
			s.I++
			return s.B[start:end], isPlain, nil
		}
		// An escape (\") took the quote found: search on.
	}
}

// plainSpan reports whether b holds only bytes 0x20-0x7f but the
// backslash, ORing a table's entries without a branch per byte.
func plainSpan(b []byte) bool {
	var bad byte
	for _, c := range b {
		bad |= notPlain[c]
	}
	return bad == 0
}

// notPlain is 1 for the bytes a plain string cannot hold: controls,
// non-ASCII, the backslash.
var notPlain = func() (t [256]byte) {
	for c := range t {
		if c < 0x20 || c > 0x7f || c == '\\' {
			t[c] = 1
		}
	}
	return t
}()

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

// Number reads a JSON number after whitespace.
func (s *Scanner) Number() error {
	s.ws()
	s.eatByte('-')
	switch {
	case s.eatByte('0'):
	case s.digits() == 0:
		return ErrJSON
	}
	if s.eatByte('.') && s.digits() == 0 {
		return ErrJSON
	}
	if s.eatByte('e') || s.eatByte('E') {
		if !s.eatByte('+') {
			s.eatByte('-')
		}
		if s.digits() == 0 {
			return ErrJSON
		}
	}
	return nil
}

func (s *Scanner) eatByte(c byte) bool {
	if s.I < len(s.B) && s.B[s.I] == c {
		s.I++
		return true
	}
	return false
}

func (s *Scanner) digits() int {
	n := 0
	for s.I < len(s.B) && '0' <= s.B[s.I] && s.B[s.I] <= '9' {
		s.I++
		n++
	}
	return n
}

// Skip reads and validates any value, nested at most Max-depth deep.
func (s *Scanner) Skip(depth int) error {
	switch s.Peek() {
	case '"':
		_, _, err := s.Str()
		return err
	case 't':
		return s.want(s.Literal("true"))
	case 'f':
		return s.want(s.Literal("false"))
	case 'n':
		return s.want(s.Literal("null"))
	case '[', '{':
		limit := s.Max
		if limit == 0 {
			limit = MaxDepth
		}
		if depth >= limit {
			return ErrJSON
		}
		return s.container(depth + 1)
	}
	return s.Number()
}

func (s *Scanner) want(ok bool) error {
	if !ok {
		return ErrJSON
	}
	return nil
}

// container reads an array or object whose opening byte is next.
func (s *Scanner) container(depth int) error {
	obj := s.B[s.I] == '{'
	end := byte(']')
	if obj {
		end = '}'
	}
	s.I++
	if s.Eat(end) {
		return nil
	}
	for {
		if obj {
			if _, _, err := s.Str(); err != nil {
				return err
			}
			if !s.Eat(':') {
				return ErrJSON
			}
		}
		if err := s.Skip(depth); err != nil {
			return err
		}
		if s.Eat(end) {
			return nil
		}
		if !s.Eat(',') {
			return ErrJSON
		}
	}
}

// DecodeString returns the string raw (valid, from str) denotes, as
// encoding/json decodes it: escapes resolved, a lone or invalid surrogate
// and each byte of invalid UTF-8 replaced by U+FFFD.
func DecodeString(raw []byte) []byte {
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
