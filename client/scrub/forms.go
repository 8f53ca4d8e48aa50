package scrub

import (
	"bytes"
	"net/url"
)

// MaxForms bounds how many forms Forms returns.
const MaxForms = 10

// Forms returns the forms an echo of value most often carries it in, each
// once (a secret of letters, digits, '-', '_', '.' and '~' has one form: as
// it is). They are the forms the edge masks in answer bodies (Masker),
// where a search cannot decode whatever comes as Secret.In does with a
// header:
//
//   - as sent;
//   - query-escaped (net/url QueryEscape: '+' for a space; it is how the
//     edge injects a query secret, so a URL echoed as received holds it),
//     path-escaped (PathEscape: %20 for a space, '+' kept), and escaped as
//     RFC 3986 would (every byte but the unreserved ones), each with upper-
//     and lower-case hex: frameworks re-encode an echoed URL their way;
//   - JSON-escaped (the escapes JSON requires, as JSON.stringify and most
//     encoders write them; with '/' as `\/` too, as PHP writes it; and with
//     '<', '>' and '&' as \u003c…, as Go's encoding/json writes them): an
//     error object that repeats a header or a decoded parameter.
//
// Secret.In finds every form but the JSON ones. The result shares no
// memory with value; an empty value has no forms.
func Forms(value []byte) [][]byte {
	if len(value) == 0 {
		return nil
	}
	if plain(value) {
		return [][]byte{bytes.Clone(value)}
	}
	s := string(value)
	q, p, u := url.QueryEscape(s), url.PathEscape(s), escapeAll(s)
	cands := [...]string{
		s,
		q, lowerHex(q),
		p, lowerHex(p),
		u, lowerHex(u),
		jsonEscape(s, 0), jsonEscape(s, jsonSlash), jsonEscape(s, jsonHTML),
	}
	size := 0
	for _, c := range cands {
		size += len(c)
	}
	backing := make([]byte, 0, size)
	out := make([][]byte, 0, len(cands))
	for _, c := range cands {
		if !hasForm(out, c) {
			start := len(backing)
			backing = append(backing, c...)
			out = append(out, backing[start:len(backing):len(backing)])
		}
	}
	return out
}

func hasForm(forms [][]byte, c string) bool {
	for _, f := range forms {
		if string(f) == c {
			return true
		}
	}
	return false
}

// plain reports whether every byte of v is unreserved (RFC 3986): v is
// then its only form.
func plain(v []byte) bool {
	for _, c := range v {
		if !unreserved(c) {
			return false
		}
	}
	return true
}

func unreserved(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~'
}

// escapeAll percent-encodes (upper-case hex) every byte of s but the
// unreserved ones of RFC 3986 (letters, digits, '-', '.', '_', '~').
func escapeAll(s string) string {
	const hex = "0123456789ABCDEF"
	b := make([]byte, 0, 3*len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if unreserved(c) {
			b = append(b, c)
			continue
		}
		b = append(b, '%', hex[c>>4], hex[c&15])
	}
	return string(b)
}

// lowerHex turns the hex digits of every %XX of s to lower case.
func lowerHex(s string) string {
	b := []byte(s)
	for i := 0; i+2 < len(b); i++ {
		if b[i] == '%' {
			b[i+1], b[i+2] = lower(b[i+1]), lower(b[i+2])
			i += 2
		}
	}
	return string(b)
}

func lower(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// The JSON escaping variants.
const (
	jsonSlash = 1 << iota // '/' as `\/`
	jsonHTML              // '<', '>', '&' as \u003c, \u003e, \u0026
)

// jsonEscape is s as the inside of a JSON string: '"' and '\\' escaped,
// control bytes as \b \f \n \r \t or \u00xx, and the variant's extras.
func jsonEscape(s string, variant int) string {
	const hex = "0123456789abcdef"
	b := make([]byte, 0, len(s)+8)
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c == '/' && variant&jsonSlash != 0:
			b = append(b, '\\', '/')
		case (c == '<' || c == '>' || c == '&') && variant&jsonHTML != 0, c < 0x20 && !isShortEscape(c):
			b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&15])
		case c < 0x20:
			b = append(b, '\\', shortEscape(c))
		default:
			b = append(b, c)
		}
	}
	return string(b)
}

func isShortEscape(c byte) bool { return shortEscape(c) != 0 }

func shortEscape(c byte) byte {
	switch c {
	case '\b':
		return 'b'
	case '\f':
		return 'f'
	case '\n':
		return 'n'
	case '\r':
		return 'r'
	case '\t':
		return 't'
	}
	return 0
}
