package scrub

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// forms are the ways an upstream echoes a secret s in a header.
func forms(s string) map[string]string {
	every := func(s string, upper bool) string {
		var b strings.Builder
		for i := 0; i < len(s); i++ {
			if upper {
				fmt.Fprintf(&b, "%%%02X", s[i])
			} else {
				fmt.Fprintf(&b, "%%%02x", s[i])
			}
		}
		return b.String()
	}
	return map[string]string{
		"raw":           s,
		"query-escaped": url.QueryEscape(s),
		"path-escaped":  url.PathEscape(s),
		"lower-hex":     strings.ToLower(url.QueryEscape(s)),
		"every-byte":    every(s, false),
		"every-BYTE":    every(s, true),
		"twice":         url.QueryEscape(url.QueryEscape(s)),
		"path-in-query": url.QueryEscape("/x/" + url.PathEscape(s)),
		"upper-case":    asciiUpper(s),
	}
}

// asciiUpper upper-cases ASCII letters only (the case the search ignores).
func asciiUpper(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'a' <= c && c <= 'z' {
			b[i] = c - 'a' + 'A'
		}
	}
	return string(b)
}

// TestScrubFindsTheSecretInEveryForm: a header echoing the secret as sent
// or percent-encoded any way is removed; others stay.
func TestScrubFindsTheSecretInEveryForm(t *testing.T) {
	for _, s := range []string{"sk_live_7d1e", "Sk/odd+sec ret&k=7%d1e", "ä€ ü", "a%41b"} {
		sec := New([]byte(s))
		for name, f := range forms(s) {
			if !sec.In("https://up.example/dir/?v=1&key=" + f + "&x=2") {
				t.Errorf("%q: %s form %q not found", s, name, f)
			}
		}
		h := http.Header{"Location": {"/dir/?key=" + url.QueryEscape(s)}, "Set-Cookie": {"a=1", "sid=" + url.PathEscape(s)},
			"X-" + strings.ToUpper(url.QueryEscape(s)): {"1"}, "Date": {"Mon, 07 Dec 2026 10:00:00 GMT"}}
		if n := Header(h, sec); n != 3 {
			t.Errorf("%q: removed %d values, want 3: %v", s, n, h)
		}
		if len(h) != 2 || h.Get("Set-Cookie") != "a=1" || h.Get("Date") == "" {
			t.Errorf("%q: left %v", s, h)
		}
	}
	sec := New([]byte("sk_live_7d1e"))
	for _, v := range []string{"", "sk_live_7d1", "sk_live_7d1f", "sk-live-7d1e", "c2tfbGl2ZV83ZDFl"} {
		if sec.In(v) {
			t.Errorf("found in %q", v)
		}
	}
	if (Secret{}).In("anything") || New(nil).In("") {
		t.Error("an empty secret found something")
	}
	if got := fmt.Sprintf("%v %+v %s", sec, sec, sec); strings.Contains(got, "sk_live") {
		t.Errorf("Secret printed its value: %s", got)
	}
	// Encoded more times than MaxRounds: removed (fail closed).
	deep := "sk_live_7d1e"
	for range MaxRounds + 2 {
		deep = url.QueryEscape("%" + deep)
	}
	if !sec.In(deep) {
		t.Error("a value still decoding after MaxRounds was kept")
	}
}

// FuzzScrubFindsEveryForm: for any secret and any text around it, every
// form of the secret is found. The text before holds no '%': one right
// before an encoded secret can join its first characters into an escape
// (a limit the package doc states); what precedes an injected secret in an
// echo is the operator's parameter name and '=' (or nothing).
func FuzzScrubFindsEveryForm(f *testing.F) {
	f.Add("sk_live_7d1e", "/dir/?key=", "&x=1")
	f.Add("Sk/odd+sec ret&k=7%d1e", "", "")
	f.Add("%", "%2", "5")
	f.Add("+ ", "a+", "%20")
	f.Fuzz(func(t *testing.T, s, before, after string) {
		if s == "" || len(s) > 256 || len(before)+len(after) > 1024 || strings.Contains(before, "%") {
			return
		}
		sec := New([]byte(s))
		for name, form := range forms(s) {
			if !sec.In(before + form + after) {
				t.Fatalf("secret %q, %s form, in %q: not found", s, name, before+form+after)
			}
		}
	})
}

func BenchmarkScrubHeader(b *testing.B) {
	sec := New([]byte("sk_live_0123456789abcdef"))
	base := http.Header{"Content-Type": {"application/json"}, "Date": {"Mon, 07 Dec 2026 10:00:00 GMT"},
		"Location": {"https://up.example/dir/?v=1&q=some+query&page=2"}, "Set-Cookie": {"a=1; Path=/; HttpOnly", "b=2"},
		"Cache-Control": {"no-store"}, "X-Request-Id": {"01JH3Q8X8W6V1Z6Y3M4N5P6Q7R"}}
	b.ReportAllocs()
	for b.Loop() {
		h := base.Clone()
		Header(h, sec)
	}
}

// BenchmarkScrubHeaderBaseline: the same header cloned, not scrubbed.
func BenchmarkScrubHeaderBaseline(b *testing.B) {
	base := http.Header{"Content-Type": {"application/json"}, "Date": {"Mon, 07 Dec 2026 10:00:00 GMT"},
		"Location": {"https://up.example/dir/?v=1&q=some+query&page=2"}, "Set-Cookie": {"a=1; Path=/; HttpOnly", "b=2"},
		"Cache-Control": {"no-store"}, "X-Request-Id": {"01JH3Q8X8W6V1Z6Y3M4N5P6Q7R"}}
	b.ReportAllocs()
	for b.Loop() {
		_ = base.Clone()
	}
}
