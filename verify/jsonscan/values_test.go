package jsonscan

import (
	"bytes"
	"strconv"
	"strings"
	"testing"
)

// FuzzInt64 compares Int64 with the JSON number grammar and
// strconv.ParseInt: it reads a number without fraction or exponent whose
// digits do not go on past it (no leading zero) and that fits in an int64,
// and nothing else.
func FuzzInt64(f *testing.F) {
	for _, s := range []string{"0", "-0", "01", "-01", " 42,", "1.0", "1e3", "1E3", "-", "",
		"9223372036854775807", "9223372036854775808", "-9223372036854775808", "-9223372036854775809",
		"99999999999999999999", "12a", "+1", "0x10"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		s := &Scanner{B: b}
		v, err := s.Int64()
		n := &Scanner{B: b}
		n.Peek() // skips the whitespace
		from := n.I
		want, wantOK := int64(0), false
		if n.Number() == nil {
			text := string(b[from:n.I])
			more := n.I < len(b) && '0' <= b[n.I] && b[n.I] <= '9'
			if p, perr := strconv.ParseInt(text, 10, 64); perr == nil && !more && !strings.ContainsAny(text, ".eE") {
				want, wantOK = p, true
			}
		}
		if (err == nil) != wantOK || wantOK && (v != want || s.I != n.I) {
			t.Fatalf("Int64(%q) = %d, %v at %d; want %d, %v at %d", b, v, err, s.I, want, wantOK, n.I)
		}
	})
}

// TestBool reads true and false, and refuses anything else.
func TestBool(t *testing.T) {
	for in, want := range map[string]int{" true": 1, "false": 0, "null": -1, "tru": -1, `"true"`: -1, "1": -1, "": -1} {
		s := &Scanner{B: []byte(in)}
		v, err := s.Bool()
		if got := map[bool]int{true: 1, false: 0}[v]; err != nil {
			got = -1
		} else if got != want || !s.End() {
			t.Fatalf("Bool(%q) = %v, end %v", in, v, s.End())
		}
		if (err != nil) != (want < 0) {
			t.Fatalf("Bool(%q): err %v", in, err)
		}
	}
}

// TestMembers reads the names of objects, escaped ones decoded, and
// refuses an object that is not one.
func TestMembers(t *testing.T) {
	long := strings.Repeat(`\u0061`, 70)
	for _, tc := range []struct {
		in    string
		names string // joined with '|', after "ok:" or "err:"
	}{
		{`{}`, "ok:"},
		{` { "a" : 1 , "b":[2] }`, "ok:a|b"},
		{`{"\u006eonce":1,"\ud83d\ude00":2}`, "ok:nonce|\U0001F600"},
		{`{"` + long + `":1}`, "ok:" + strings.Repeat("a", 70)},
		{`{"a":1,}`, "err:a"},
		{`{"a" 1}`, "err:"},
		{`{,}`, "err:"},
		{`[1]`, "err:"},
		{`{"a":1 "b":2}`, "err:a"},
		{`{"a":1`, "err:a"},
		{`{"\ud800":1}`, "err:"},
	} {
		s := &Scanner{B: []byte(tc.in), UTF8: true}
		m := Members{S: s}
		var names []string
		for m.Next() {
			var buf [8]byte
			names = append(names, string(m.Name(buf[:0])))
			m.Err = s.Skip(1)
		}
		got := "ok:"
		if m.Err != nil {
			got = "err:"
		}
		if got += strings.Join(names, "|"); got != tc.names {
			t.Fatalf("%s: %q, want %q", tc.in, got, tc.names)
		}
		if m.Err == nil && !s.End() {
			t.Fatalf("%s: stopped at %d", tc.in, s.I)
		}
	}
}

// TestMembersStopsOnReadersError: an error a reader sets ends the loop and
// stays.
func TestMembersStopsOnReadersError(t *testing.T) {
	s := &Scanner{B: []byte(`{"a":1,"b":2}`)}
	m := Members{S: s}
	n := 0
	for m.Next() {
		n++
		m.Err = ErrJSON
	}
	if n != 1 || m.Err != ErrJSON || m.Next() {
		t.Fatalf("%d members read, err %v", n, m.Err)
	}
}

// TestElements reads arrays element by element.
func TestElements(t *testing.T) {
	for in, want := range map[string]string{`[]`: "ok:", ` [ 1 , 2 ]`: "ok:1|2", `[1,]`: "err:1|", `[1 2]`: "err:1", `{}`: "err:", `[1`: "err:1"} {
		s := &Scanner{B: []byte(in)}
		e := Elements{S: s}
		var got []string
		for e.Next() {
			s.Peek() // skips the whitespace
			from := s.I
			e.Err = s.Number()
			got = append(got, string(s.B[from:s.I]))
		}
		res := "ok:"
		if e.Err != nil {
			res = "err:"
		}
		if res += strings.Join(got, "|"); res != want {
			t.Fatalf("%s: %q, want %q", in, res, want)
		}
	}
}

// TestDecodeInPlace: a string read strictly decodes into its own bytes to
// what it decodes to elsewhere, and nothing after it is touched.
func TestDecodeInPlace(t *testing.T) {
	for _, in := range []string{`"abc"`, `"\u00e9\n\"\\\/"`, `"\ud83d\ude00x"`, `"é\u00e9"`, `"\u0000\u007f"`} {
		b := []byte(in + "TAIL")
		s := &Scanner{B: b, UTF8: true}
		raw, _, err := s.Str()
		if err != nil {
			t.Fatalf("%s: %v", in, err)
		}
		want := DecodeString(raw)
		got, ok := AppendDecoded(raw[:0], raw, len(raw))
		if !ok || !bytes.Equal(got, want) || string(b[len(in):]) != "TAIL" {
			t.Fatalf("%s: in place %q (%v), want %q; buffer %q", in, got, ok, want, b)
		}
	}
}

// TestStrictRefusesLoneSurrogates: with UTF8, a string holding a lone
// surrogate escape is refused whether it is read or skipped; a pair is
// read.
func TestStrictRefusesLoneSurrogates(t *testing.T) {
	for in, ok := range map[string]bool{
		`"\ud83d\ude00"`: true, `"\ud800"`: false, `"\udc00"`: false, `"\ud800\u0041"`: false,
		`"\ud800x"`: false, `"\udbff\udfff"`: true, `"\ud800\ud800"`: false, `"\ud800\\udc00"`: false,
		`"\uD83D\uDE00"`: true, `{"\udc00":1}`: false, `[1,"\ud800"]`: false, `"\ud7ff\ue000"`: true,
	} {
		s := &Scanner{B: []byte(in), UTF8: true}
		if err := s.Skip(0); (err == nil && s.End()) != ok {
			t.Fatalf("Skip %s: %v, want ok %v", in, err, ok)
		}
		s = &Scanner{B: []byte(in)}
		if err := s.Skip(0); err != nil {
			t.Fatalf("Skip %s without UTF8: %v", in, err)
		}
	}
}

// TestAfterMember: after a member's value comes whitespace and then ','
// (another member) or '}' (the end); anything else, the end of the input
// included, is not JSON.
func TestAfterMember(t *testing.T) {
	for in, want := range map[string]struct {
		next     int
		more, ok bool
	}{
		`,"b"`:     {1, true, true},
		" \t\n\r,": {5, true, true},
		"}":        {1, false, true},
		"  } ,":    {3, false, true},
		"]":        {0, false, false},
		"  ":       {0, false, false},
		"":         {0, false, false},
		"x}":       {0, false, false},
	} {
		next, more, ok := AfterMember([]byte(in), 0)
		if ok != want.ok || ok && (next != want.next || more != want.more) {
			t.Errorf("AfterMember(%q) = %d, %v, %v; want %d, %v, %v", in, next, more, ok, want.next, want.more, want.ok)
		}
	}
}
