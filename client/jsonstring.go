package client

import "unicode/utf8"

// appendString appends s as a JSON string, escaped exactly as encoding/json
// (json.Marshal) escapes it: '"', '\\' and control characters; '<', '>' and
// '&' (HTML-safe); U+2028 and U+2029; and each byte of invalid UTF-8 as
// \ufffd. A body is thus the bytes json.Marshal would write for its
// members in this order, and always valid JSON.
func appendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	for len(s) > 0 {
		n := plainPrefix(s)
		dst = append(dst, s[:n]...)
		if s = s[n:]; s != "" {
			var size int
			dst, size = appendEscape(dst, s)
			s = s[size:]
		}
	}
	return append(dst, '"')
}

// plainPrefix is the length of the longest prefix of s that JSON carries
// as it is.
func plainPrefix(s string) int {
	i := 0
	for i < len(s) {
		if b := s[i]; b < utf8.RuneSelf {
			if escapedASCII(b) {
				return i
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 || r == '\u2028' || r == '\u2029' {
			return i
		}
		i += size
	}
	return i
}

func escapedASCII(b byte) bool {
	return b < 0x20 || b == '"' || b == '\\' || b == '<' || b == '>' || b == '&'
}

// appendEscape appends the escape of the character s starts with (one that
// plainPrefix stopped at) and says how many bytes of s it stands for.
func appendEscape(dst []byte, s string) ([]byte, int) {
	const hex = "0123456789abcdef"
	b := s[0]
	if b >= utf8.RuneSelf {
		r, size := utf8.DecodeRuneInString(s)
		if r == utf8.RuneError {
			return append(dst, `\ufffd`...), size
		}
		return append(dst, '\\', 'u', '2', '0', '2', hex[r&0xF]), size // U+2028, U+2029
	}
	switch b {
	case '"', '\\':
		return append(dst, '\\', b), 1
	case '\b':
		return append(dst, '\\', 'b'), 1
	case '\f':
		return append(dst, '\\', 'f'), 1
	case '\n':
		return append(dst, '\\', 'n'), 1
	case '\r':
		return append(dst, '\\', 'r'), 1
	case '\t':
		return append(dst, '\\', 't'), 1
	}
	return append(dst, '\\', 'u', '0', '0', hex[b>>4], hex[b&0xF]), 1
}
