// Package percent decodes %XX escapes as the most permissive servers do:
// either hex case, one round at a time, a '%' that begins no escape kept
// as it is (or refused, when strict). The SDK's header scrubbing
// (client/scrub) and the edge's proxy path rules decode with it, so that
// both read an escape the same way.
//
// It imports only the standard library. Its functions are pure and safe
// for concurrent use.
package percent

// IsHex reports whether c is a hexadecimal digit, in either case.
func IsHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// Unhex is the value of the hexadecimal digit c (IsHex(c) must hold).
func Unhex(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c <= 'F':
		return c - 'A' + 10
	}
	return c - 'a' + 10
}

// AppendDecoded appends s to dst with every %XX (either hex case) decoded
// once, and reports whether any was (changed). A '%' that does not begin
// two hex digits is kept as it is; with strict it is refused instead: ok
// is false and out is dst as far as written. With cap(dst)-len(dst) of at
// least len(s) it does not allocate (the result is never longer than s).
func AppendDecoded[T ~string | ~[]byte](dst []byte, s T, strict bool) (out []byte, changed, ok bool) {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '%' {
			if i+2 < len(s) && IsHex(s[i+1]) && IsHex(s[i+2]) {
				dst = append(dst, Unhex(s[i+1])<<4|Unhex(s[i+2]))
				i += 2
				changed = true
				continue
			}
			if strict {
				return dst, false, false
			}
		}
		dst = append(dst, c)
	}
	return dst, changed, true
}
