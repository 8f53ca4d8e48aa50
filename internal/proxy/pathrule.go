package proxy

import (
	"strings"

	"github.com/attestd/attestd/client/percent"
	"github.com/attestd/attestd/internal/apierr"
)

// The path rules of PROTOCOL.md §6 (1.1): {path…} must stay below the
// upstream's base path on every server that could read it, so the proxy
// assumes the most permissive one behind it. checkRest is the one place
// they are applied; both adapters hand it the path as the client sent it
// (escaped), never a form a server library has already normalised.
//
// Each segment (split on the literal '/') is examined as sent and after
// each round of percent-decoding, until decoding changes nothing; a segment
// still changing after maxDecodeRounds rounds is refused. A form is refused
// when it holds
//   - a NUL;
//   - a backslash, raw or decoded (IIS and Windows read it as '/');
//   - a '/' that decoding produced (an encoded slash, %2F or %252F);
//   - an IIS %uXXXX escape (the first round refuses any '%' that does not
//     begin two hex digits; later rounds leave such a '%' as it is);
//   - an overlong UTF-8 sequence (the old Java and IIS readings of %C0%AE
//     as '.'), or a character that Unicode compatibility or Windows
//     best-fit mapping turns into '/' or '\' (U+FF0F, U+FF3C, U+FE68,
//     U+2215, U+2216);
//   - a dot segment: once cut at its first ';' (Tomcat's and Jetty's path
//     parameters, "..;"), the rest is made only of dots and spaces, with at
//     least one dot ("." and ".." everywhere; "...", ". ." and ".. " on
//     Windows), counting U+FF0E, U+FE52, U+2024, U+2025 and U+2026 (which
//     compatibility mapping turns into dots) as dots.
//
// Bounds: the work is linear in the path's length times maxDecodeRounds+1,
// and the path's length is bounded by the listener's request-line limit.
const maxDecodeRounds = 8

// The public messages of the refusals (400 bad_request).
var (
	errPathMalformed = apierr.ErrBadRequest.WithMessage("malformed path")
	errPathDot       = apierr.ErrBadRequest.WithMessage("the path may not hold . or .. segments, in any encoding")
	errPathSlash     = apierr.ErrBadRequest.WithMessage("the path may not hold an encoded slash or a backslash")
	errPathNUL       = apierr.ErrBadRequest.WithMessage("the path may not hold a NUL")
	errPathChars     = apierr.ErrBadRequest.WithMessage("the path holds characters some servers read as dots or slashes")
	errPathDeep      = apierr.ErrBadRequest.WithMessage("the path is percent-encoded too many times")
)

// checkRest applies the path rules to rest, the escaped {path…} as sent:
// "" or beginning with '/'.
func checkRest(rest string) error {
	if rest == "" {
		return nil
	}
	for seg := range strings.SplitSeq(rest[1:], "/") {
		if err := checkSegment(seg); err != nil {
			return err
		}
	}
	return nil
}

// checkSegment applies the rules to one segment as sent.
func checkSegment(seg string) error {
	if plainSegment(seg) {
		return nil
	}
	form := seg
	for round := 0; ; round++ {
		if err := checkForm(form, round > 0); err != nil {
			return err
		}
		next, changed, ok := decodeOnce(form, round == 0)
		switch {
		case !ok:
			return errPathMalformed
		case !changed:
			return nil
		case round == maxDecodeRounds:
			return errPathDeep
		}
		form = next
	}
}

// plainSegment: nothing in seg can decode, climb or separate (the common
// case, decided without allocating).
func plainSegment(seg string) bool {
	for i := 0; i < len(seg); i++ {
		switch c := seg[i]; {
		case c == '%' || c == '.' || c == '\\' || c == ';' || c == 0 || c >= 0x80:
			return false
		}
	}
	return true
}

// checkForm applies the rules to one form of a segment; decoded says it
// came out of at least one round of decoding.
func checkForm(f string, decoded bool) error {
	switch {
	case strings.IndexByte(f, 0) >= 0:
		return errPathNUL
	case strings.IndexByte(f, '\\') >= 0, decoded && strings.IndexByte(f, '/') >= 0:
		return errPathSlash
	case hasPercentU(f):
		return errPathMalformed
	}
	if hasHighBytes(f) {
		if overlongUTF8(f) || strings.ContainsAny(f, "\uFF0F\uFF3C\uFE68\u2215\u2216") {
			return errPathChars
		}
		f = dotLookalikes.Replace(f)
	}
	if isDotSegment(f) {
		return errPathDot
	}
	return nil
}

// isDotSegment: f, cut at its first ';', is made only of dots and spaces
// and holds at least one dot.
func isDotSegment(f string) bool {
	f, _, _ = strings.Cut(f, ";")
	dot := false
	for i := 0; i < len(f); i++ {
		switch f[i] {
		case '.':
			dot = true
		case ' ':
		default:
			return false
		}
	}
	return dot
}

// dotLookalikes maps the characters that compatibility normalisation
// (NFKC) turns into dots.
var dotLookalikes = strings.NewReplacer("\uFF0E", ".", "\uFE52", ".", "\u2024", ".", "\u2025", "..", "\u2026", "...")

func hasHighBytes(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return true
		}
	}
	return false
}

// overlongUTF8 reports a byte that only begins an overlong encoding: C0 or
// C1 (two bytes), E0 followed by 80-9F (three), F0 followed by 80-8F (four).
func overlongUTF8(s string) bool {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == 0xC0 || c == 0xC1:
			return true
		case c == 0xE0 && i+1 < len(s) && s[i+1] >= 0x80 && s[i+1] <= 0x9F:
			return true
		case c == 0xF0 && i+1 < len(s) && s[i+1] >= 0x80 && s[i+1] <= 0x8F:
			return true
		}
	}
	return false
}

// hasPercentU reports an IIS-style %uXXXX escape.
func hasPercentU(s string) bool {
	for i := 0; i+5 < len(s); i++ {
		if s[i] == '%' && (s[i+1] == 'u' || s[i+1] == 'U') &&
			percent.IsHex(s[i+2]) && percent.IsHex(s[i+3]) && percent.IsHex(s[i+4]) && percent.IsHex(s[i+5]) {
			return true
		}
	}
	return false
}

// decodeOnce decodes every %XX of s (either hex case). strict refuses a
// '%' that does not begin two hex digits (ok false); otherwise such a '%'
// is kept, as lenient servers do. changed says something was decoded.
func decodeOnce(s string, strict bool) (out string, changed, ok bool) {
	if strings.IndexByte(s, '%') < 0 {
		return s, false, true
	}
	b, changed, ok := percent.AppendDecoded(make([]byte, 0, len(s)), s, strict)
	if !ok {
		return "", false, false
	}
	return string(b), changed, true
}
