package attest

import (
	"bytes"
	"errors"
	"unicode/utf8"

	"github.com/attestd/attestd/verify/jsonscan"
)

// A small, bounded, allocation-free JSON reader for the attest request.
// encoding/json would cost a dozen allocations and several microseconds per
// request on the hot path; this reads the one shape we accept and skips the
// rest (unknown members are ignored, PROTOCOL.md conventions). Strings and
// skipped values are read by verify/jsonscan, whose cost per byte is
// bounded whatever the JSON (a long string eight bytes at a time, no
// recursion); the platform_attestation object by verify/platform's
// ScanEvidence, once.

var errSyntax = errors.New("json: syntax error")

const maxDepth = 32

func skipWS(b []byte, i int) int {
	for i < len(b) {
		switch b[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

// scanString reads the JSON string starting at b[i] == '"'. It returns the
// raw contents (between the quotes, escapes undecoded), whether it holds
// escapes, and the index after the closing quote. verify/jsonscan reads
// it (strict UTF-8), plain runs eight bytes at a time.
func scanString(b []byte, i int) (raw []byte, escaped bool, next int, err error) {
	end, plain, ok := jsonscan.ReadString(b, i, true)
	if !ok {
		return nil, false, 0, errSyntax
	}
	raw = b[i+1 : end-1]
	return raw, !plain && bytes.IndexByte(raw, '\\') >= 0, end, nil
}

func hexVal(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'a' && c <= 'f':
		return int(c-'a') + 10
	case c >= 'A' && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}

// unescape appends the decoded form of a raw string (from scanString) to dst.
func unescape(dst, raw []byte) ([]byte, error) {
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		if c != '\\' {
			dst = append(dst, c)
			continue
		}
		i++
		switch raw[i] {
		case 'b':
			dst = append(dst, '\b')
		case 'f':
			dst = append(dst, '\f')
		case 'n':
			dst = append(dst, '\n')
		case 'r':
			dst = append(dst, '\r')
		case 't':
			dst = append(dst, '\t')
		case 'u':
			r := rune(hexVal(raw[i+1])<<12 | hexVal(raw[i+2])<<8 | hexVal(raw[i+3])<<4 | hexVal(raw[i+4]))
			i += 4
			if r >= 0xD800 && r < 0xDC00 {
				// A high surrogate must be followed by an escaped low one.
				if i+6 < len(raw) && raw[i+1] == '\\' && raw[i+2] == 'u' {
					lo := rune(hexVal(raw[i+3])<<12 | hexVal(raw[i+4])<<8 | hexVal(raw[i+5])<<4 | hexVal(raw[i+6]))
					if lo >= 0xDC00 && lo < 0xE000 {
						r = (r-0xD800)<<10 + (lo - 0xDC00) + 0x10000
						i += 6
						dst = utf8.AppendRune(dst, r)
						continue
					}
				}
				return nil, errSyntax
			}
			if r >= 0xDC00 && r < 0xE000 {
				return nil, errSyntax
			}
			dst = utf8.AppendRune(dst, r)
		default: // '"', '\\', '/'
			dst = append(dst, raw[i])
		}
	}
	return dst, nil
}

// skipValue skips one JSON value starting at b[i] (after whitespace), at
// depth depth, and returns the index after it: verify/jsonscan's reader,
// without recursion, a container at depth maxDepth or deeper refused.
func skipValue(b []byte, i, depth int) (int, error) {
	if depth > maxDepth {
		return 0, errSyntax
	}
	end, ok := jsonscan.SkipValue(b, i, depth, maxDepth, true)
	if !ok {
		return 0, errSyntax
	}
	return end, nil
}

// scanObject walks the object at b[i] == '{'. For each member it calls
// member(rawKey, valueIndex), which returns the index after the value it
// consumed, or 0 to have the value skipped. Duplicate detection is the
// caller's.
func scanObject(b []byte, i, depth int, member func(key []byte, at int) (int, error)) (int, error) {
	if depth > maxDepth || i >= len(b) || b[i] != '{' {
		return 0, errSyntax
	}
	i = skipWS(b, i+1)
	if i < len(b) && b[i] == '}' {
		return i + 1, nil
	}
	for {
		key, escaped, next, err := scanString(b, i)
		if err != nil {
			return 0, err
		}
		if escaped {
			// Decode escaped names so that "\u006eonce" is "nonce" here as
			// in any other JSON parser.
			var kb [64]byte
			if key, err = unescape(kb[:0], key); err != nil {
				return 0, err
			}
		}
		i = skipWS(b, next)
		if i >= len(b) || b[i] != ':' {
			return 0, errSyntax
		}
		i = skipWS(b, i+1)
		end, err := member(key, i)
		if err != nil {
			return 0, err
		}
		if end == 0 {
			if end, err = skipValue(b, i, depth); err != nil {
				return 0, err
			}
		}
		i = skipWS(b, end)
		if i >= len(b) {
			return 0, errSyntax
		}
		if b[i] == '}' {
			return i + 1, nil
		}
		if b[i] != ',' {
			return 0, errSyntax
		}
		i = skipWS(b, i+1)
	}
}
