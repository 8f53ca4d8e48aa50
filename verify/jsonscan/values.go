package jsonscan

import "math"

// Int64 reads, after whitespace, a JSON number that is an integer (no
// fraction, no exponent) in the range of an int64: -9223372036854775808
// is read, one more digit or a number such as 1.0 or 1e3 is refused.
func (s *Scanner) Int64() (int64, error) {
	v, end, ok := readInt64(s.B, ws(s.B, s.I))
	if !ok {
		return 0, ErrJSON
	}
	s.I = end
	return v, nil
}

// readInt64 reads the integer at b[i]: its value and the index after it.
func readInt64(b []byte, i int) (int64, int, bool) {
	neg := i < len(b) && b[i] == '-'
	if neg {
		i++
	}
	start := i
	var u uint64
	for ; i < len(b) && '0' <= b[i] && b[i] <= '9'; i++ {
		d := uint64(b[i] - '0')
		if u > (1<<63-d)/10 { // u*10+d would exceed 1<<63
			return 0, 0, false
		}
		u = u*10 + d
	}
	if n := i - start; n == 0 || n > 1 && b[start] == '0' {
		return 0, 0, false
	}
	if i < len(b) && (b[i] == '.' || b[i] == 'e' || b[i] == 'E') {
		return 0, 0, false
	}
	if neg {
		return -int64(u), i, true // u ≤ 1<<63, and -(1<<63) wraps to itself
	}
	if u > 1<<63-1 {
		return 0, 0, false
	}
	return int64(u), i, true
}

// Bool reads true or false after whitespace.
func (s *Scanner) Bool() (bool, error) {
	switch {
	case s.Literal("true"):
		return true, nil
	case s.Literal("false"):
		return false, nil
	}
	return false, ErrJSON
}

// Members reads an object member by member, without allocating:
//
//	m := jsonscan.Members{S: s}
//	var buf [64]byte
//	for m.Next() {
//		switch string(m.Name(buf[:0])) {
//		case "a":
//			m.Err = readA(s) // the value must be read, with S
//		default:
//			m.Err = s.Skip(depth)
//		}
//	}
//	if m.Err != nil { … }
//
// Next reads the object's '{' (the first time), the separator, the member's
// name and its colon, and stops at the value; it is false at the '}' (which
// it consumes) and on an error, which it leaves in Err. A reader that sets
// Err stops the loop.
type Members struct {
	S   *Scanner
	Err error

	started    bool
	plain      bool
	start, end int // the name, as Str read it, is S.B[start:end]
}

// Next moves to the next member's value.
func (m *Members) Next() bool {
	if !next(m.S, &m.started, &m.Err, '{', '}') {
		return false
	}
	raw, plain, err := m.S.Str()
	// Indices, not raw: a slice of S.B kept in m would make S.B escape.
	m.end = m.S.I - 1 // the closing quote
	m.start, m.plain = m.end-len(raw), plain
	if err == nil && !m.S.Eat(':') {
		err = ErrJSON
	}
	if err != nil {
		m.Err = err
		return false
	}
	return true
}

// Name returns the member's name, decoded (escapes resolved): its bytes in
// S.B when it is plain, otherwise appended to buf. (The decoded name is not
// kept in m: a buffer m pointed into would make m, and so S, escape to the
// heap.)
func (m *Members) Name(buf []byte) []byte {
	raw := m.S.B[m.start:m.end]
	if m.plain {
		return raw
	}
	out, _ := AppendDecoded(buf, raw, math.MaxInt)
	return out
}

// Elements reads an array element by element, like Members: Next reads
// the '[' (the first time) or the separator and stops at the element,
// which the reader must read with S; false at the ']' (consumed) or on an
// error (Err).
type Elements struct {
	S   *Scanner
	Err error

	started bool
}

// Next moves to the next element.
func (e *Elements) Next() bool { return next(e.S, &e.started, &e.Err, '[', ']') }

// next reads, the first time (*started false), the container's opening
// byte and, after that, the separator: false at the closing byte
// (consumed) or on an error, left in *err.
func next(s *Scanner, started *bool, err *error, open, close byte) bool {
	switch {
	case *err != nil:
		return false
	case !*started:
		*started = true
		if !s.Eat(open) {
			*err = ErrJSON
			return false
		}
		if s.Eat(close) {
			return false
		}
	case s.Eat(close):
		return false
	case !s.Eat(','):
		*err = ErrJSON
		return false
	}
	return true
}
