package jsonscan

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/attestd/attestd/verify/internal/jsontest"
)

// FuzzScanner compares the scanner with encoding/json: a value Skip
// accepts (with nothing after it) is valid JSON, valid JSON nested at most
// Max deep is accepted, and a string Str reads decodes as encoding/json
// decodes it.
func FuzzScanner(f *testing.F) {
	for _, s := range []string{
		`{"a":[1,-0.5e+3,true,false,null,{"b":"c\u0041\ud83d\ude00\ud800"}]}`,
		`"\"\\\/\b\f\n\r\t"`, `[[[[1]]]]`, `01`, `"\x"`, `{"a" 1}`, `[1,]`, "\"\xff\"",
	} {
		f.Add([]byte(s), 3)
	}
	f.Fuzz(func(t *testing.T, b []byte, max int) {
		if max < 0 || max > 40 {
			return
		}
		s := &Scanner{B: b, Max: max}
		err := s.Skip(0)
		ok := err == nil && s.End()
		limit := max
		if limit == 0 {
			limit = MaxDepth
		}
		valid := json.Valid(b)
		s = &Scanner{B: b, Max: max, UTF8: true}
		err = s.Skip(0)
		okUTF8 := err == nil && s.End()
		if okUTF8 != (ok && utf8.Valid(b) && !loneSurrogate(b)) {
			t.Fatalf("with UTF8 %q: accepted %v; without: %v, valid UTF-8: %v, lone surrogate: %v",
				b, okUTF8, ok, utf8.Valid(b), loneSurrogate(b))
		}
		if okIter, isContainer := iterate(b, max); isContainer && okIter != okUTF8 {
			t.Fatalf("Members/Elements %q: accepted %v, Skip %v", b, okIter, okUTF8)
		}
		switch {
		case ok && !valid:
			t.Fatalf("accepted %q, encoding/json refuses it", b)
		case !ok && valid && jsontest.Depth(b) <= limit:
			t.Fatalf("refused %q (%v), valid and %d deep", b, err, jsontest.Depth(b))
		}
		s = &Scanner{B: b}
		raw, plain, err := s.Str()
		if err != nil || !s.End() {
			return
		}
		var want string
		if err := json.Unmarshal(b, &want); err != nil {
			t.Fatalf("read string %q, encoding/json refuses: %v", b, err)
		}
		got := string(raw)
		if !plain {
			got = string(DecodeString(raw))
		}
		if full, ok := AppendDecoded([]byte("x"), raw, len(got)+1); !ok || string(full[1:]) != got {
			t.Fatalf("AppendDecoded(%q) = %q, %v", raw, full, ok)
		}
		if max := len(got); max > 0 { // one byte short, after "x"
			if part, ok := AppendDecoded([]byte("x"), raw, max); ok || len(part) > max || !strings.HasPrefix(got, string(part[1:])) {
				t.Fatalf("AppendDecoded(%q, max %d) = %q, %v", raw, max, part, ok)
			}
		}
		if got != want {
			t.Fatalf("string %q decodes to %q, encoding/json to %q", b, got, want)
		}
	})
}

// iterate reads the object or array b with Members or Elements, skipping
// each value: whether it is accepted, and whether b is one.
func iterate(b []byte, max int) (ok, isContainer bool) {
	s := &Scanner{B: b, Max: max, UTF8: true}
	var err error
	switch s.Peek() {
	case '{':
		m := Members{S: s}
		for m.Next() {
			m.Name(nil)
			m.Err = s.Skip(1)
		}
		err = m.Err
	case '[':
		e := Elements{S: s}
		for e.Next() {
			e.Err = s.Skip(1)
		}
		err = e.Err
	default:
		return false, false
	}
	return err == nil && s.End(), true
}

// loneSurrogate reports whether the JSON b (valid, escapes only in its
// strings) has a \u escape of a surrogate that is not a high one followed
// by an escaped low one.
func loneSurrogate(b []byte) bool {
	hex := func(i int) uint64 {
		if i+6 > len(b) || b[i] != '\\' || b[i+1] != 'u' {
			return 0
		}
		v, _ := strconv.ParseUint(string(b[i+2:i+6]), 16, 16)
		return v
	}
	for i := 0; i < len(b); i++ {
		if b[i] != '\\' {
			continue
		}
		switch r := hex(i); {
		case r >= 0xdc00 && r <= 0xdfff:
			return true
		case r >= 0xd800 && r <= 0xdbff:
			if lo := hex(i + 6); lo < 0xdc00 || lo > 0xdfff {
				return true
			}
			i += 6
		}
		i++ // the escaped byte: a backslash is not the start of another
	}
	return false
}

// TestSkipPlainEveryByteInEveryLane: skipPlain, eight bytes at a time,
// finds what a byte-by-byte search finds, for each byte value in each
// position of spans of 0 to 40 bytes (the eight-byte words, the tail),
// alone or before a second byte that is not plain (whose borrow must not
// hide the first).
func TestSkipPlainEveryByteInEveryLane(t *testing.T) {
	for n := 0; n <= 40; n++ {
		for at := 0; at < n; at++ {
			for c := 0; c < 256; c++ {
				for _, fill := range []byte{'A', ' ', 0x7f} {
					for _, second := range []byte{fill, 0, '"', 0xff} {
						b := bytes.Repeat([]byte{fill}, n)
						b[at] = byte(c)
						want := n
						if c < 0x20 || c >= 0x80 || c == '"' || c == '\\' {
							want = at
						}
						if at+1 < n {
							b[n-1] = second
							if want == n && second != fill {
								want = n - 1
							}
						}
						if got := skipPlain(b, 0); got != want {
							t.Fatalf("skipPlain(%q) = %d, want %d", b, got, want)
						}
					}
				}
			}
		}
	}
}

// TestStrUTF8: with UTF8 set, a string of invalid UTF-8 is refused, and
// valid UTF-8 read as it is; without, both are read.
func TestStrUTF8(t *testing.T) {
	for _, tc := range []struct {
		in string
		ok bool
	}{{`"é"`, true}, {"\"\xff\"", false}, {"\"\xc3\"", false}, {"\"\\u00e9\xed\xa0\x80\"", false}, {`"a\"b"`, true}} {
		for _, strict := range []bool{false, true} {
			s := &Scanner{B: []byte(tc.in), UTF8: strict}
			raw, _, err := s.Str()
			if want := tc.ok || !strict; (err == nil) != want {
				t.Fatalf("%q UTF8=%v: err %v, want ok=%v", tc.in, strict, err, want)
			}
			if err == nil && string(raw) != tc.in[1:len(tc.in)-1] {
				t.Fatalf("%q: raw %q", tc.in, raw)
			}
		}
	}
}
