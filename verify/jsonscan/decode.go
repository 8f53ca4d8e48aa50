package jsonscan

import (
	"math"
	"unicode/utf16"
	"unicode/utf8"
)

// DecodeString returns the string raw (valid, from str) denotes, as
// encoding/json decodes it: escapes resolved, a lone or invalid surrogate
// and each byte of invalid UTF-8 replaced by U+FFFD.
func DecodeString(raw []byte) []byte {
	out, _ := AppendDecoded(make([]byte, 0, len(raw)), raw, math.MaxInt)
	return out
}

// AppendDecoded appends DecodeString(raw) to dst while dst stays at most
// max bytes long; ok is false when it would not (dst then holds what
// fitted). Runs of plain bytes are copied whole. dst may be raw[:0] (with
// max at most len(raw)) when raw was read strictly (Scanner.UTF8,
// ReadString's strict): decoding then never writes past what it has read,
// so a buffer the caller owns is decoded in place.
func AppendDecoded(dst, raw []byte, max int) (out []byte, ok bool) {
	for i := 0; i < len(raw); {
		j := skipPlain(raw, i)
		if len(dst)+j-i > max {
			return dst, false
		}
		dst = append(dst, raw[i:j]...)
		if j == len(raw) {
			break
		}
		var r rune
		r, i = nextRune(raw, j)
		if len(dst)+utf8.RuneLen(r) > max {
			return dst, false
		}
		dst = utf8.AppendRune(dst, r)
	}
	return dst, true
}

// nextRune decodes the character of raw (valid, from Str) at i: the rune
// it denotes (RuneError for a lone surrogate or a byte of invalid UTF-8)
// and the index after it.
func nextRune(raw []byte, i int) (rune, int) {
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
		return r, i
	case c == '\\':
		return rune(unescapeByte(raw[i+1])), i + 2
	case c < utf8.RuneSelf:
		return rune(c), i + 1
	}
	r, n := utf8.DecodeRune(raw[i:]) // RuneError for one invalid byte (n == 1)
	return r, i + n
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
