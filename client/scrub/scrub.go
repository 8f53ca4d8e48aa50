// Package scrub removes a secret from HTTP answer headers, so that a secret
// added to a request reaches the host it was meant for and nobody else.
// The edge's secrets proxy scrubs each upstream answer of the secret it
// injected (docs/protocol.md §6, 1.1), and the SDK's client.Transport scrubs the
// answer to each request it filled a secret in: a redirect whose Location
// echoes the request's query, a Set-Cookie or a debug header that repeats
// it, never reach the app.
//
// A Secret finds its value in a header name or value as sent, and
// percent-encoded any way (query escaping with '+' for a space, path
// escaping, escapes of characters that need none, either hex case), up to
// MaxRounds times over, in any letter case. The letter case is ignored on
// purpose: an echo of the secret in other case gives most of it away, and
// matching more can only remove a header that held something close to the
// secret. Other encodings (base64, JSON or HTML escapes) are not searched
// in headers, and Answer leaves the body alone, except that it drops the
// body of a redirect that held the secret: see docs/operator-secrets.md.
// Bodies are masked as they stream with a Masker (mask.go), which looks
// for a fixed list of forms (Forms: as sent, percent-encoded three common
// ways in either hex case, JSON-escaped) of one or more secrets in the
// exact letter case, so that the search runs at memory speed; both the
// edge's proxy and client.Transport mask every answer body that way, a
// gzip or deflate one decoded first by DecodeBody (decode.go), which
// refuses any other content coding. Nor is a '%' that
// the text right before an encoded secret ends with, and that decoding
// joins with the secret's first characters into an escape: what precedes
// an injected secret in an echo is a parameter name and '=', or nothing.
//
// It imports only the standard library and client/percent, so that both
// the SDK and the edge use it.
package scrub

import (
	"bytes"
	"fmt"
	"net/http"
	"strings"

	"github.com/attestd/attestd/client/percent"
)

// MaxRounds bounds how many times a header is percent-decoded while it is
// searched; one still decoding after that is taken to hold the secret
// (removed: fail closed).
const MaxRounds = 4

// Secret is one secret value in the normal form searches use. The zero
// value (and a Secret of an empty value) finds nothing. It never prints its
// value.
type Secret struct {
	norm []byte
}

// New returns the Secret of value. value is copied.
func New(value []byte) Secret {
	return Secret{norm: fold(nil, value)}
}

// Format prints a placeholder, never the value.
func (s Secret) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte("scrub.Secret(redacted)")) }

// In reports whether v holds the secret in one of the forms of the package
// doc.
func (s Secret) In(v string) bool {
	found, _ := s.in(v, nil)
	return found
}

// in is In with a buffer to reuse (returned, maybe grown).
func (s Secret) in(v string, buf []byte) (bool, []byte) {
	n := len(s.norm)
	if n == 0 || len(v) < n { // decoding only shortens
		return false, buf
	}
	buf = fold(buf[:0], v)
	if bytes.Contains(buf, s.norm) {
		return true, buf
	}
	if strings.IndexByte(v, '%') < 0 {
		return false, buf
	}
	form := []byte(v)
	for round := 1; ; round++ {
		next, changed := decode(form)
		switch {
		case !changed || len(next) < n:
			return false, buf
		case round > MaxRounds:
			return true, buf // still decoding: fail closed
		}
		form = next
		buf = fold(buf[:0], form)
		if bytes.Contains(buf, s.norm) {
			return true, buf
		}
	}
}

// Header removes from h every value that holds one of secrets, and every
// header whose name holds one; it returns how many values it removed.
func Header(h http.Header, secrets ...Secret) int {
	removed := 0
	buf := make([]byte, 0, 256)
	held := func(v string) bool {
		for _, s := range secrets {
			var found bool
			if found, buf = s.in(v, buf); found {
				return true
			}
		}
		return false
	}
	for name, vs := range h {
		if held(name) {
			removed += len(vs)
			delete(h, name)
			continue
		}
		var kept []string // nil while every value is kept
		for i, v := range vs {
			switch {
			case held(v):
				removed++
				if kept == nil {
					kept = append(make([]string, 0, len(vs)), vs[:i]...)
				}
			case kept != nil:
				kept = append(kept, v)
			}
		}
		switch {
		case kept == nil:
		case len(kept) == 0:
			delete(h, name)
		default:
			h[name] = kept
		}
	}
	return removed
}

// Answer scrubs resp's header with Header and returns how many values it
// removed. A redirect (3xx) that held a secret loses its body too: redirect
// pages repeat the Location (Go's ServeMux, Django and nginx write it in
// them). Any other body is left as it is.
func Answer(resp *http.Response, secrets ...Secret) int {
	n := Header(resp.Header, secrets...)
	if n > 0 && resp.StatusCode >= 300 && resp.StatusCode < 400 {
		if resp.Body != nil {
			_ = resp.Body.Close()
		}
		resp.Body, resp.ContentLength = http.NoBody, 0
		delete(resp.Header, "Content-Length")
		delete(resp.Header, "Content-Type")
	}
	return n
}

// fold appends the normal form of b to dst: ASCII letters in lower case,
// '+' as a space (so the query and path escapings of a space meet).
func fold[T string | []byte](dst []byte, b T) []byte {
	for i := 0; i < len(b); i++ {
		c := b[i]
		switch {
		case 'A' <= c && c <= 'Z':
			c += 'a' - 'A'
		case c == '+':
			c = ' '
		}
		dst = append(dst, c)
	}
	return dst
}

// decode decodes every %XX of b (either hex case) and keeps any other '%'.
func decode(b []byte) ([]byte, bool) {
	if bytes.IndexByte(b, '%') < 0 {
		return b, false
	}
	out, changed, _ := percent.AppendDecoded(make([]byte, 0, len(b)), b, false)
	return out, changed
}
