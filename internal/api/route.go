package api

import (
	"bytes"

	"github.com/attestd/attestd/internal/model"
)

// Routing is by exact segments of the path as the client sent it
// (PROTOCOL.md Conventions, 1.1: a request target that names no endpoint
// exactly is not_found). Nothing is normalised first: a doubled or empty
// segment, a dot segment ("." or ".."), a percent-encoded literal
// ("/v1/%63hallenge"), a trailing slash, a '#' or any byte
// more than the endpoint's own names no endpoint. Only the account segment
// of the JWKS path is percent-decoded, once, because an account id may
// hold characters a client must encode (model.ValidateID allows any
// printable ASCII but '/'). Matching allocates nothing.

// route is an endpoint a path names.
type route uint8

const (
	routeNone route = iota
	routeChallenge
	routeAttest
	routeJWKS
)

// maxSegments is the most segments a path of an endpoint has
// (/v1/accounts/{account}/jwks.json).
const maxSegments = 4

// match returns the endpoint path names exactly and, for routeJWKS, the
// account segment as sent (still percent-encoded; a slice of path).
func match(path []byte) (route, []byte) {
	var seg [maxSegments][]byte
	n, ok := split(path, &seg)
	if !ok || string(seg[0]) != "v1" {
		return routeNone, nil
	}
	switch {
	case n == 2 && string(seg[1]) == "challenge":
		return routeChallenge, nil
	case n == 2 && string(seg[1]) == "attest":
		return routeAttest, nil
	case n == 4 && string(seg[1]) == "accounts" && string(seg[3]) == "jwks.json":
		return routeJWKS, seg[2]
	}
	return routeNone, nil
}

// split cuts path into its segments, the bytes between one '/' and the
// next (empty ones included), as slices of path. ok is false when path
// does not begin with '/' or has more than len(seg) segments.
func split(path []byte, seg *[maxSegments][]byte) (n int, ok bool) {
	if len(path) == 0 || path[0] != '/' {
		return 0, false
	}
	rest := path[1:]
	for n < len(seg) {
		i := bytes.IndexByte(rest, '/')
		if i < 0 {
			seg[n] = rest
			return n + 1, true
		}
		seg[n], rest = rest[:i], rest[i+1:]
		n++
	}
	return n, false
}

// TargetPath returns the path of an HTTP request target exactly as sent:
// the bytes before the first '?', and for the absolute form
// (`http://host/path`, RFC 9112 §3.2.2; scheme http or https, any case)
// the bytes from the first '/' after a non-empty authority. Nothing is
// decoded or normalised. The result is a slice of target, nil when the
// target has no path: the asterisk form ("*"), the authority form of
// CONNECT, an absolute form without a path, anything else. Adapters pass
// the request line's target (fasthttp RequestHeader.RequestURI, net/http
// Request.RequestURI) through it into Request.Path.
func TargetPath(target []byte) []byte {
	if i := bytes.IndexByte(target, '?'); i >= 0 {
		target = target[:i]
	}
	if len(target) > 0 && target[0] == '/' {
		return target
	}
	rest, ok := cutScheme(target)
	if !ok {
		return nil
	}
	i := bytes.IndexByte(rest, '/')
	if i <= 0 {
		return nil // no path, or no authority
	}
	return rest[i:]
}

// cutScheme removes a leading "http://" or "https://" (any case).
func cutScheme(t []byte) ([]byte, bool) {
	for _, s := range [...]string{"http://", "https://"} {
		if len(t) >= len(s) && bytes.EqualFold(t[:len(s)], []byte(s)) {
			return t[len(s):], true
		}
	}
	return nil, false
}

// accountID decodes the account segment of a JWKS path into dst: percent-
// decoded exactly once, strictly (a '%' not followed by two hex digits
// names no account). ok is false, before any lookup, for what no account
// id can be (model.ValidateID: empty, over model.MaxIDLen, a byte that is
// not printable ASCII, a space, a '/', so that an encoded slash never
// splits a segment) and for a dot segment, encoded or not ("." and ".."
// name no endpoint, PROTOCOL.md Conventions).
func accountID(seg []byte, dst *[model.MaxIDLen]byte) (id []byte, ok bool) {
	n := 0
	for i := 0; i < len(seg); i++ {
		c := seg[i]
		if c == '%' {
			if i+2 >= len(seg) {
				return nil, false
			}
			hi, ok1 := unhex(seg[i+1])
			lo, ok2 := unhex(seg[i+2])
			if !ok1 || !ok2 {
				return nil, false
			}
			c = hi<<4 | lo
			i += 2
		}
		if n == len(dst) || c <= ' ' || c >= 0x7f || c == '/' {
			return nil, false
		}
		dst[n] = c
		n++
	}
	id = dst[:n]
	if n == 0 || string(id) == "." || string(id) == ".." {
		return nil, false
	}
	return id, true
}

func unhex(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}
