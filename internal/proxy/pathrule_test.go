package proxy

import (
	"errors"
	"net/url"
	"strings"
	"testing"

	"github.com/attestd/attestd/internal/apierr"
)

// escapeAttacks are the paths of the attack on the proxy's base path: each
// one, read by some server behind the edge, climbs out of the upstream's
// base path (or was seen to on a real node) while carrying the secret.
var escapeAttacks = []string{
	"%2e%2e%2fadmin",   // an encoded slash and encoded dots: one segment here, two upstream
	"..;/admin",        // Tomcat and Jetty cut ";…" off a segment: ".."
	"..%5Cadmin",       // IIS reads '\' as '/'
	"..%252Fadmin",     // a server (or a second proxy) that decodes twice
	"..%2F..%2Fadmin",  // seen to pass on the HTTP/3 listener
	".%2E/admin",       // mixed case, half encoded
	"%252e%252e/admin", // dots encoded twice
	"a%00b",            // a NUL: C string handling cuts the path
	"a\\b",             // a raw backslash
}

// TestProxyPathRules: every attack path is refused with bad_request; the
// paths of genuine requests are not.
func TestProxyPathRules(t *testing.T) {
	refused := append(append([]string{}, escapeAttacks...),
		"..", ".", "%2e", "%2E%2e", "x/../..", "x/%2e%2e", ".;x", "..;jsessionid=1/admin", "..%3B/admin",
		"..%253B/admin", "%25252e%25252e/admin", "a%2fb", "a%2Fb", "a%5cb", "a%255cb", "a%25252Fb",
		"...", ". .", "..%20", "%20..", "%u002e%u002e", "%25u002e%25u002e/admin", "%c0%ae%c0%ae/admin",
		"%C0%AF", "%e0%80%ae%e0%80%ae", "%ef%bc%8e%ef%bc%8e/admin", "\uff0e\uff0e/admin", "\u2025/admin",
		"a%ef%bc%8fb", "a\uff3cb", "a%e2%88%95b", "a%2500b", "%zz", "a%", "a%2", "a%g0",
		"%25%32%65%25%32%65/admin", "%"+strings.Repeat("25", maxDecodeRounds)+"2e")
	for _, rest := range refused {
		if err := checkRest("/" + rest); !errors.Is(err, apierr.ErrBadRequest) {
			t.Errorf("%q: got %v, want bad_request", rest, err)
		}
	}
	for _, rest := range []string{
		"", "/", "a", "a/b/c", "a..b", ".x", "x.", "..x", "x..", ".well-known/jwks.json", "a//b", "a/", "%20",
		"a%20b", "100%2525", "v1/geocode", "a;b", "x;..", "caf%C3%A9", "na\u00efve", "%E2%82%AC", "a%3Fb%23c",
		"a+b", "50%25off", "~user", "a%2e", "%2ex", "%" + strings.Repeat("25", maxDecodeRounds-2) + "41",
	} {
		if err := checkRest("/" + rest); err != nil {
			t.Errorf("%q refused: %v", rest, err)
		}
	}
}

// FuzzProxyPath: whatever the path checker accepts stays below the
// upstream's base path however many times a server decodes it and however
// it resolves it, from the strictest reading (no decoding, RFC 3986 dot
// segments) to the most permissive one (modelled below, independently of
// the checker's code).
func FuzzProxyPath(f *testing.F) {
	for _, s := range escapeAttacks {
		f.Add(s)
	}
	for _, s := range []string{"a/b", "a..b/c", "x/%2e", "100%2525", "caf%C3%A9", "a;b/..;", "%c0%ae"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, rest string) {
		name, got, err := splitPath(Prefix + "api/" + rest)
		if err != nil {
			if !errors.Is(err, apierr.ErrBadRequest) {
				t.Fatalf("%q: %v", rest, err)
			}
			return
		}
		if name != "api" || got != "/"+rest {
			t.Fatalf("%q: split into %q %q", rest, name, got)
		}
		form := got
		for k := 0; k <= 2*maxDecodeRounds; k++ {
			if climbs(form, false) || climbs(form, true) {
				t.Fatalf("%q accepted, but read after %d decodings it leaves the base path", rest, k)
			}
			next := modelDecode(form)
			if next == form {
				return
			}
			form = next
		}
		t.Fatalf("%q accepted, still decoding after %d rounds", rest, 2*maxDecodeRounds)
	})
}

// modelDecode decodes %XX and IIS %uXXXX (below U+0080) escapes, leaving
// any other '%'.
func modelDecode(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '%' {
			if i+2 < len(s) && isHexModel(s[i+1]) && isHexModel(s[i+2]) {
				b.WriteByte(hexModel(s[i+1])<<4 | hexModel(s[i+2]))
				i += 2
				continue
			}
			if i+5 < len(s) && (s[i+1] == 'u' || s[i+1] == 'U') && s[i+2] == '0' && s[i+3] == '0' &&
				isHexModel(s[i+4]) && isHexModel(s[i+5]) && hexModel(s[i+4]) < 8 {
				b.WriteByte(hexModel(s[i+4])<<4 | hexModel(s[i+5]))
				i += 5
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func isHexModel(c byte) bool { return strings.IndexByte("0123456789abcdefABCDEF", c) >= 0 }

func hexModel(c byte) byte {
	return byte(strings.IndexByte("0123456789abcdef", c|0x20))
}

// permissiveReplacer is what the most permissive server does to a decoded
// path before splitting it: '\' is a separator, a NUL ends it, overlong
// UTF-8 and compatibility forms of '.', '/' and '\' are those characters.
var permissiveReplacer = strings.NewReplacer(
	"\\", "/", "\xc0\xae", ".", "\xc0\xaf", "/", "\xc1\x9c", "/", "\xe0\x80\xae", ".", "\xe0\x80\xaf", "/",
	"\uff0e", ".", "\ufe52", ".", "\u2024", ".", "\u2025", "..", "\u2026", "...",
	"\uff0f", "/", "\uff3c", "/", "\ufe68", "/", "\u2215", "/", "\u2216", "/")

// climbs resolves rest (beginning with '/') below a base and reports
// whether it leaves it. permissive: the reading above, path parameters cut
// off each segment (";…"), empty segments merged, and any segment of dots
// and spaces taken as "..".
func climbs(rest string, permissive bool) bool {
	if permissive {
		rest = permissiveReplacer.Replace(rest)
		rest, _, _ = strings.Cut(rest, "\x00")
	}
	depth := 0
	for seg := range strings.SplitSeq(strings.TrimPrefix(rest, "/"), "/") {
		if permissive {
			seg, _, _ = strings.Cut(seg, ";")
			if seg != "" && strings.Trim(seg, ". ") == "" && strings.Contains(seg, ".") {
				seg = ".."
			}
			if seg == "" {
				continue
			}
		}
		switch seg {
		case ".":
		case "..":
			if depth--; depth < 0 {
				return true
			}
		default:
			depth++
		}
	}
	return false
}

// BenchmarkProxyPathRules: splitPath with the path rules on a genuine path
// (mostly plain segments, one with an escape).
func BenchmarkProxyPathRules(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := splitPath(Prefix + "maps/v1/geocode/Main%20St/place.json"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkProxyPathRulesBaseline: the same path cut and unescaped only,
// as the previous checker did for segments with '%' or '.'.
func BenchmarkProxyPathRulesBaseline(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		rest := strings.TrimPrefix(Prefix+"maps/v1/geocode/Main%20St/place.json", Prefix+"maps")
		for seg := range strings.SplitSeq(rest, "/") {
			if strings.ContainsAny(seg, ".%") {
				if _, err := url.PathUnescape(seg); err != nil {
					b.Fatal(err)
				}
			}
		}
	}
}
