package jsonscan

import (
	"encoding/binary"
	"math/bits"
	"unicode/utf8"
)

// The reader itself: functions of the input and an index, which keep the
// index in a register, so that a structural byte, an escape or a byte of
// UTF-8 costs a few instructions. Each returns the index after what it
// read, and false for input that is not JSON. Readers that keep their own
// index (the attest core's, verify/platform's) call the exported ones;
// Scanner wraps them.

// SkipSpace returns the index of the first byte of b from i on that is
// not JSON whitespace.
func SkipSpace(b []byte, i int) int { return ws(b, i) }

// ReadString reads the string whose opening quote is at b[i]: it returns
// the index after its closing quote (its contents are b[i+1:end-1]) and
// whether it is plain (printable ASCII without escapes, its raw bytes its
// value); ok is false when b[i] is not a quote or the string is not valid
// JSON, or, with strict, not Unicode: not valid UTF-8, or holding a lone
// surrogate escape (a \uD800-\uDFFF not in a high-low pair).
func ReadString(b []byte, i int, strict bool) (end int, plain, ok bool) {
	if i >= len(b) || b[i] != '"' {
		return 0, false, false
	}
	return str(b, i+1, strict)
}

// AfterMember reads what follows a member's value, the value ending at
// b[i]: whitespace, then ',' (more is true: i is after it) or '}' (more is
// false: i is after the object); ok is false for anything else (and next
// then means nothing). It is
// small enough to be inlined in the loops that read many members.
func AfterMember(b []byte, i int) (next int, more, ok bool) {
	if i = ws(b, i); i >= len(b) {
		return 0, false, false
	}
	c := b[i]
	return i + 1, c == ',', c == ',' || c == '}'
}

// SkipValue reads the value at b[i] (after whitespace) and all it holds,
// and returns the index after it: a container opened at depth depth (the
// value's own) or deeper must be under limit (at most 64); with strict,
// its strings must be valid UTF-8.
func SkipValue(b []byte, i, depth, limit int, strict bool) (end int, ok bool) {
	return skipValue(b, i, depth, min(limit, 64), strict)
}

// MemberName reads an object member's name at b[i] (after whitespace) and
// its colon: the name's contents are b[start:end] (escapes as sent), plain
// as ReadString says, and value is the index of the member's value (after
// the colon and the whitespace after it). ok is false when there is not a
// string (with strict, a Unicode one) then a colon. A name of at most
// eight plain bytes is read without a call.
func MemberName(b []byte, i int, strict bool) (start, end, value int, plain, ok bool) {
	if i < len(b) && b[i] <= ' ' {
		i = ws(b, i)
	}
	if i >= len(b) || b[i] != '"' {
		return 0, 0, 0, false, false
	}
	start = i + 1
	j := start
	for n := min(len(b), j+8); j < n && plainBytes[b[j]]; j++ {
	}
	if j < len(b) && b[j] == '"' {
		end, plain, i = j, true, j+1
	} else {
		if i, plain, ok = str(b, start, strict); !ok {
			return 0, 0, 0, false, false
		}
		end = i - 1
	}
	if i < len(b) && b[i] != ':' {
		i = ws(b, i)
	}
	if i >= len(b) || b[i] != ':' {
		return 0, 0, 0, false, false
	}
	if i++; i < len(b) && b[i] <= ' ' {
		i = ws(b, i)
	}
	return start, end, i, plain, true
}

// ws returns the index of the first byte from i on that is not JSON
// whitespace.
func ws(b []byte, i int) int {
	for i < len(b) && b[i] <= ' ' && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// hasWord reports whether b holds word at i.
func hasWord(b []byte, i int, word string) bool {
	return len(b)-i >= len(word) && string(b[i:i+len(word)]) == word
}

// str reads the rest of a string whose contents begin at i, up to and
// including its closing quote, and reports whether it is plain (printable
// ASCII without escapes). Runs of plain bytes are skipped eight at a time;
// with strict, a string that is not valid UTF-8 or holds a lone surrogate
// escape is refused.
func str(b []byte, i int, strict bool) (end int, plain, ok bool) {
	start := i
	// A short string (a member name) is read byte by byte: cheaper than a
	// call for eight bytes at a time.
	for n := min(len(b), i+8); i < n; i++ {
		if c := b[i]; c == '"' {
			return i + 1, true, true
		} else if c < 0x20 || c >= utf8.RuneSelf || c == '\\' {
			break
		}
	}
	i = skipPlain(b, i)
	if i < len(b) && b[i] == '"' {
		return i + 1, true, true
	}
	ascii := true
	for i < len(b) {
		switch c := b[i]; {
		case c == '"':
			if strict && !ascii && !utf8.Valid(b[start:i]) {
				return 0, false, false
			}
			return i + 1, false, true
		case c == '\\':
			if i+1 < len(b) && shortEscapes[b[i+1]] {
				i += 2
				break
			}
			n, ok := unicodeEscape(b, i, strict)
			if !ok {
				return 0, false, false
			}
			i += n
		case c >= utf8.RuneSelf:
			ascii = false
			for i++; i < len(b) && b[i] >= utf8.RuneSelf; i++ {
			}
		case c < 0x20:
			return 0, false, false
		default:
			i = skipPlain(b, i+1)
		}
	}
	return 0, false, false
}

// Eight-byte lanes for skipPlain.
const (
	lanes01 = 0x0101010101010101
	lanes80 = 0x8080808080808080
)

// skipPlain returns the index of the first byte of b from i on that is not
// plain (a quote, a backslash, a control character or a byte over 0x7f),
// len(b) when there is none. Eight bytes at a time, without a branch per
// byte: in each lane, the top bit of x-0x20|x is set when its byte is
// under 0x20 or over 0x7f, that of (y-1)&^y, y = x^0x2222…, when it is a
// quote, and the same with 0x5c… for the backslash. A borrow from a lane
// that is set can set the lanes above it, never those below, so the
// lowest lane set is the first byte that is not plain.
func skipPlain(b []byte, i int) int {
	for ; i+8 <= len(b); i += 8 {
		x := binary.LittleEndian.Uint64(b[i:])
		q := x ^ ('"' * lanes01)
		e := x ^ ('\\' * lanes01)
		if m := ((x - 0x20*lanes01) | x | (q-lanes01)&^q | (e-lanes01)&^e) & lanes80; m != 0 {
			return i + bits.TrailingZeros64(m)/8
		}
	}
	for ; i < len(b); i++ {
		if c := b[i]; c < 0x20 || c >= utf8.RuneSelf || c == '"' || c == '\\' {
			return i
		}
	}
	return i
}

// shortEscapes[c] says whether \c is a two-byte escape.
var shortEscapes = func() (t [256]bool) {
	for _, c := range `"\\/bfnrt` {
		t[c] = true
	}
	return t
}()

// hexDigits[c] is the value of the hex digit c, badHex for any other
// byte: four of them looked up, shifted and or-ed hold a bad digit's bit
// at 16 or above.
const badHex = 1 << 16

var hexDigits = func() (t [256]uint32) {
	for c := range t {
		if v := hexVal(byte(c)); v >= 0 {
			t[c] = uint32(v)
		} else {
			t[c] = badHex
		}
	}
	return t
}()

// hexAt is the value of the four hex digits at b[i].
func hexAt(b []byte, i int) (uint32, bool) {
	if i+4 > len(b) {
		return 0, false
	}
	v := hexDigits[b[i]]<<12 | hexDigits[b[i+1]]<<8 | hexDigits[b[i+2]]<<4 | hexDigits[b[i+3]]
	return v, v < badHex
}

// unicodeEscape is the length of the valid \u escape at b[i] == '\\';
// with strict, a surrogate must be a high one with a low one's escape
// after it (the length covers both): a lone surrogate denotes no
// character.
func unicodeEscape(b []byte, i int, strict bool) (int, bool) {
	if i+1 >= len(b) || b[i+1] != 'u' {
		return 0, false
	}
	r, ok := hexAt(b, i+2)
	switch {
	case !ok:
		return 0, false
	case !strict || r < 0xd800 || r > 0xdfff:
		return 6, true
	case r >= 0xdc00 || i+7 >= len(b) || b[i+6] != '\\' || b[i+7] != 'u':
		return 0, false // a low surrogate first, or a high one alone
	}
	lo, ok := hexAt(b, i+8)
	return 12, ok && 0xdc00 <= lo && lo <= 0xdfff
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

// number reads the number at i (RFC 8259 §6).
func number(b []byte, i int) (int, bool) {
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && '1' <= b[i] && b[i] <= '9':
		i = digits(b, i+1)
	default:
		return 0, false
	}
	if i < len(b) && b[i] == '.' {
		j := digits(b, i+1)
		if j == i+1 {
			return 0, false
		}
		i = j
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		j := digits(b, i)
		if j == i {
			return 0, false
		}
		i = j
	}
	return i, true
}

func digits(b []byte, i int) int {
	for i < len(b) && '0' <= b[i] && b[i] <= '9' {
		i++
	}
	return i
}
