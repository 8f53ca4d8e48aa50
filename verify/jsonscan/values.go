package jsonscan

import "math"

// Int64 reads, after whitespace, a JSON number that is an integer from
// -9223372036854775808 to 9223372036854775807: a number out of that range,
// with a fraction or an exponent (1.0, 1e3), or whose digits run on past a
// leading zero (01) is refused.
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
	if m.Err != nil {
		return false
	}
	s := m.S
	b := s.B
	i := s.I
	if i < len(b) && b[i] <= ' ' {
		i = ws(b, i)
	}
	switch {
	case !m.started:
		m.started = true
		if i >= len(b) || b[i] != '{' {
			m.Err = ErrJSON
			return false
		}
		if i = ws(b, i+1); i < len(b) && b[i] == '}' {
			s.I = i + 1
			return false
		}
	case i < len(b) && b[i] == ',':
		i++
	case i < len(b) && b[i] == '}':
		s.I = i + 1
		return false
	default:
		m.Err = ErrJSON
		return false
	}
	// The name, kept as indices: a slice of B kept in m would make B
	// escape.
	start, end, value, plain, ok := MemberName(b, i, s.UTF8)
	if !ok {
		m.Err = ErrJSON
		return false
	}
	m.start, m.end, m.plain = start, end, plain
	s.I = value
	return true
}

// Name returns the member's name, decoded (escapes resolved): its bytes in
// S.B when it is plain, otherwise appended to buf. (The decoded name is not
// kept in m: a buffer m pointed into would make m, and so S, escape to the
// heap.)
func (m *Members) Name(buf []byte) []byte {
	if m.plain {
		return m.S.B[m.start:m.end]
	}
	return m.decodeName(buf)
}

func (m *Members) decodeName(buf []byte) []byte {
	out, _ := AppendDecoded(buf, m.S.B[m.start:m.end], math.MaxInt)
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
func (e *Elements) Next() bool {
	if e.Err != nil {
		return false
	}
	i, more, ok := advance(e.S.B, e.S.I, !e.started, '[', ']')
	e.started = true
	if !ok {
		e.Err = ErrJSON
		return false
	}
	e.S.I = i
	return more
}

// advance reads, after whitespace, a container's opening byte (first) or
// the separator after one of its members or elements (not first): it
// returns the index after what it read and whether a member or element
// follows (false: the closing byte was read); ok is false for anything
// else.
func advance(b []byte, i int, first bool, open, close byte) (next int, more, ok bool) {
	i = ws(b, i)
	if first {
		if i >= len(b) || b[i] != open {
			return 0, false, false
		}
		i = ws(b, i+1)
	}
	switch {
	case i < len(b) && b[i] == close:
		return i + 1, false, true
	case first:
		return i, true, true
	case i < len(b) && b[i] == ',':
		return i + 1, true, true
	}
	return 0, false, false
}
