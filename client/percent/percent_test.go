package percent

import (
	"net/url"
	"strings"
	"testing"
)

func TestAppendDecoded(t *testing.T) {
	for _, c := range []struct {
		in, out         string
		changed, strict bool // strict: the strict reading accepts it too
	}{
		{"", "", false, true},
		{"plain", "plain", false, true},
		{"a%2Fb%2fc", "a/b/c", true, true},
		{"%41%4a%4A", "AJJ", true, true},
		{"%252F", "%2F", true, true},
		{"100%", "100%", false, false},
		{"%4", "%4", false, false},
		{"%zz%41", "%zzA", true, false},
		{"%u002e", "%u002e", false, false},
		{"%%41", "%A", true, false},
		{"%00", "\x00", true, true},
	} {
		got, changed, ok := AppendDecoded(nil, c.in, false)
		if !ok || string(got) != c.out || changed != c.changed {
			t.Errorf("AppendDecoded(%q) = %q, %v, %v; want %q, %v", c.in, got, changed, ok, c.out, c.changed)
		}
		bgot, bchanged, _ := AppendDecoded([]byte("x"), []byte(c.in), false)
		if string(bgot) != "x"+c.out || bchanged != c.changed {
			t.Errorf("AppendDecoded of bytes %q = %q", c.in, bgot)
		}
		if _, _, ok := AppendDecoded(nil, c.in, true); ok != c.strict {
			t.Errorf("strict AppendDecoded(%q): ok %v", c.in, ok)
		}
	}
}

// TestNoAllocs: decoding into a buffer of room enough allocates nothing,
// from a string or from bytes.
func TestNoAllocs(t *testing.T) {
	s := "a%2Fb%252F%41" + strings.Repeat("x", 64)
	buf := make([]byte, 0, len(s))
	if n := testing.AllocsPerRun(100, func() {
		_, _, _ = AppendDecoded(buf[:0], s, true)
		_, _, _ = AppendDecoded(buf[:0], []byte(s[:8]), false)
	}); n != 0 {
		t.Fatalf("%v allocations", n)
	}
}

func BenchmarkAppendDecoded(b *testing.B) {
	s := "/v1/geocode/some%20place%2C%20far/away%3Fq"
	buf := make([]byte, 0, len(s))
	b.ReportAllocs()
	for b.Loop() {
		_, _, _ = AppendDecoded(buf[:0], s, true)
	}
}

// BenchmarkAppendDecodedBaseline is the floor beside it: the standard
// library's unescaping of the same path (it allocates its result).
func BenchmarkAppendDecodedBaseline(b *testing.B) {
	s := "/v1/geocode/some%20place%2C%20far/away%3Fq"
	b.ReportAllocs()
	for b.Loop() {
		_, _ = url.PathUnescape(s)
	}
}

// FuzzAppendDecoded: decoding never panics and never grows; the strict
// reading accepts exactly what net/url's PathUnescape accepts, with the
// same result; the lenient one agrees with the strict one where that
// accepts, and string and bytes agree.
func FuzzAppendDecoded(f *testing.F) {
	for _, s := range []string{"a%2Fb", "%252F", "100%", "%zz", "%u002e", "%%41", "%C0%AE", "%", "%4"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		lenient, lchanged, lok := AppendDecoded(nil, s, false)
		if !lok || len(lenient) > len(s) || lchanged != (len(lenient) < len(s)) {
			t.Fatalf("lenient %q → %q, %v, %v", s, lenient, lchanged, lok)
		}
		b, bchanged, _ := AppendDecoded(nil, []byte(s), false)
		if string(b) != string(lenient) || bchanged != lchanged {
			t.Fatalf("bytes and string disagree on %q", s)
		}
		strict, _, ok := AppendDecoded(nil, s, true)
		want, err := url.PathUnescape(s)
		if ok != (err == nil) {
			t.Fatalf("strict ok %v on %q, PathUnescape: %v", ok, s, err)
		}
		if ok && (string(strict) != want || string(strict) != string(lenient)) {
			t.Fatalf("%q: strict %q, lenient %q, PathUnescape %q", s, strict, lenient, want)
		}
	})
}
