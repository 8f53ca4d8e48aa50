// Package jsonscan is a one-pass reader of JSON (RFC 8259) for untrusted
// input: the verifiers' (the platform_attestation object, a Play Integrity
// verdict), the attest core's request body and the tokens' JSON. It validates what it skips
// and returns strings as the raw bytes between their quotes, so that a
// 64 KiB chain is read once and base64-decoded from the input
// (encoding/json reads it three times: validation, scanning, unquoting).
// Nesting deeper than the scanner's bound is refused; nothing recurses.
//
// Its cost is bounded per byte whatever the JSON: runs of plain string
// bytes are read eight at a time, and a structural byte, an escape or a
// byte of UTF-8 costs a few instructions. The densest JSON (short numbers,
// short member names, empty strings and containers, nesting) is read
// without a call per value: integers, short plain strings and names inline,
// runs of integers in an array and of '[' in one loop, at about a
// nanosecond a byte at worst (BenchmarkSkipHostile here, and
// BenchmarkHostileBody in bench/ through the whole attest path).
//
// It is the one JSON reader of the edge's hot paths: the verifiers under
// verify, the attest core (internal/attest: the request body) and
// crypto/token (JWT headers and claims, JWK Sets) import it. Besides
// strings, numbers and skipping, it reads integers (Int64), booleans (Bool)
// and objects and arrays member by member (Members and MemberName,
// Elements); a string
// read strictly can be decoded in place (AppendDecoded). It imports the
// standard library.
package jsonscan

import (
	"errors"
)

// MaxDepth is the default bound of the nesting of arrays and objects
// skipped (encoding/json allows 10,000).
const MaxDepth = 32

// ErrJSON is the error of input that is not JSON.
var ErrJSON = errors.New("invalid JSON")

// Scanner reads B from I. Max bounds the nesting Skip accepts (0:
// MaxDepth; at most 64). UTF8 also refuses strings that are not Unicode:
// not valid UTF-8 (RFC 8259 §8.1), or holding a lone surrogate escape
// (§8.2); encoding/json accepts both and reads each bad byte or lone
// surrogate as U+FFFD. The zero value reads nothing; a Scanner is not safe
// for concurrent use, and the strings it returns alias B.
type Scanner struct {
	B    []byte
	I    int
	Max  int
	UTF8 bool
}

// End reports whether nothing but whitespace is left.
func (s *Scanner) End() bool { return ws(s.B, s.I) == len(s.B) }

// Peek returns the next byte after whitespace, 0 at the end.
func (s *Scanner) Peek() byte {
	s.I = ws(s.B, s.I)
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
	i := ws(s.B, s.I)
	if !hasWord(s.B, i, word) {
		return false
	}
	s.I = i + len(word)
	return true
}

// Str reads a string after whitespace and returns its raw contents (between
// the quotes, escapes as sent) and whether it is plain: printable ASCII
// without escapes, its raw bytes its value. Runs of plain bytes are
// skipped eight at a time (skipPlain), so a long base64 string costs a
// fraction of a cycle per byte; an escape, a control character or a byte
// over 0x7f is looked at on its own, at a few cycles each.
func (s *Scanner) Str() (raw []byte, isPlain bool, err error) {
	i := ws(s.B, s.I)
	if i >= len(s.B) || s.B[i] != '"' {
		return nil, false, ErrJSON
	}
	end, plain, ok := str(s.B, i+1, s.UTF8)
	if !ok {
		return nil, false, ErrJSON
	}
	s.I = end
	return s.B[i+1 : end-1], plain, nil
}

// Number reads a JSON number after whitespace.
func (s *Scanner) Number() error {
	end, ok := number(s.B, ws(s.B, s.I))
	if !ok {
		return ErrJSON
	}
	s.I = end
	return nil
}

// Skip reads and validates any value, nested at most Max-depth deep: a
// container opened at depth depth (the value's own) or deeper must be at
// a depth under Max. It does not recurse (skipValue).
func (s *Scanner) Skip(depth int) error {
	limit := s.Max
	if limit == 0 {
		limit = MaxDepth
	}
	end, ok := skipValue(s.B, s.I, depth, min(limit, 64), s.UTF8)
	if !ok {
		return ErrJSON
	}
	s.I = end
	return nil
}
