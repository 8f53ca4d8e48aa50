package jsonscan

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/attestd/attestd/verify/internal/jsontest"
)

// TestSkipFastPathsAgreeWithEncodingJSON: the loops skipValue reads the
// densest JSON with (runs of integers in an array, of '[', short plain
// names and strings inline) accept exactly what encoding/json accepts,
// at each place a run can break: a leading zero, a fraction or an
// exponent after a run, a run at the top level (not an array), an empty
// element, whitespace, a name that is not short or not plain.
func TestSkipFastPathsAgreeWithEncodingJSON(t *testing.T) {
	for _, in := range []string{
		`[0,0,0]`, `[0,01]`, `[0,00]`, `[0,10,200,-3]`, `[0,1.5,1e3,2E-1,0.0]`, `[0,1.]`, `[0,1e]`, `[0,-]`,
		`[0,-01]`, `[0,,0]`, `[0,0,]`, `[,0]`, `[0 ,0 , 0]`, `[0,0`, `[0,0]]`, `10,0`, `0,`, `[0,[0,0],0]`,
		`[0,"",0]`, `[1,2}`, `{"a":0,"b":0}`, `{"a":0,"a":01}`, `{"a":0,"b" :0}`, `{"a":0,"b": 0}`,
		`{"a":0,"bcdefghijkl":0}`, `{"a":0,"\u0062":0}`, `{"a":0,"é":0}`, `{"a":0,"b"}`, `{"a":0,"b":}`,
		`{"a":0,"b":0,}`, `{"a":0,b:0}`, `{"a":0"b":0}`, `{"a":0]`, `["a"]`, `["abcdefgh","abcdefghi",""]`,
		`["a\"b"]`, "[\"a\x01\"]", `[[[]],[[]]]`, `[[[]],[[]]`, `[[[]]]]`, `[[{}],{"a":[[]]}]`, `[{]`, `[[}]`,
		`[true,false,null]`, `[tru]`, `[nul,0]`, `-`, `-0`, `-a`, `[-]`, `[0-1]`, `[0e+1,0E-1,1e01]`,
		`{"a":[0,0],"b":{"c":[[0]]}}`, ` [ 0 , 0 ] `,
		`[` + strings.Repeat("[", 31) + strings.Repeat("]", 31) + `]`,
		`[` + strings.Repeat("[", 32) + strings.Repeat("]", 32) + `]`,
	} {
		b := []byte(in)
		end, ok := SkipValue(b, SkipSpace(b, 0), 0, MaxDepth, true)
		got := ok && SkipSpace(b, end) == len(b)
		if want := json.Valid(b) && jsontest.Depth(b) <= MaxDepth; got != want {
			t.Errorf("%q: accepted %v, encoding/json %v", in, got, want)
		}
	}
}
