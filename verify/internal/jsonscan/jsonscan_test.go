package jsonscan

import (
	"bytes"
	"encoding/json"
	"testing"
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
		switch {
		case ok && !valid:
			t.Fatalf("accepted %q, encoding/json refuses it", b)
		case !ok && valid && depth(b) <= limit:
			t.Fatalf("refused %q (%v), valid and %d deep", b, err, depth(b))
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
		if got != want {
			t.Fatalf("string %q decodes to %q, encoding/json to %q", b, got, want)
		}
	})
}

func depth(b []byte) int {
	d := json.NewDecoder(bytes.NewReader(b))
	cur, most := 0, 0
	for {
		tok, err := d.Token()
		if err != nil {
			return most
		}
		switch tok {
		case json.Delim('{'), json.Delim('['):
			cur++
			most = max(most, cur)
		case json.Delim('}'), json.Delim(']'):
			cur--
		}
	}
}
