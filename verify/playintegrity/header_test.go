package playintegrity

import (
	"encoding/base64"
	"encoding/json"
	"testing"
)

// FuzzReadHeader compares the protected header reader with encoding/json:
// a header it accepts is a JSON object whose members are strings, each on
// the allow-list, with the same alg and enc.
func FuzzReadHeader(f *testing.F) {
	for _, s := range []string{
		`{"alg":"A256KW","enc":"A256GCM"}`,
		` { "alg" : "ES256" , "kid" : "k1" , "typ" : "JWT" } `,
		`{"alg":"A256KW","enc":"A256GCM","zip":"DEF"}`,
		`{"alg":"A256KW","alg":"dir"}`,
		`{"\u0061lg":"none"}`,
		`{"alg":"ES256","crit":["b64"],"b64":false}`,
		`{"alg":"ES256"}x`,
		`{}`,
	} {
		f.Add([]byte(s))
	}
	all := memberAlg | memberEnc | memberKid | memberTyp | memberCty
	f.Fuzz(func(t *testing.T, b []byte) {
		h, err := readHeader(base64.RawURLEncoding.EncodeToString(b), all)
		if err != nil {
			return
		}
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatalf("accepted %q, encoding/json refuses: %v", b, err)
		}
		for k, v := range m {
			if _, ok := v.(string); !ok || headerMember([]byte(k)) == 0 {
				t.Fatalf("accepted member %q: %v", k, v)
			}
		}
		alg, _ := m["alg"].(string)
		enc, _ := m["enc"].(string)
		if alg != h.alg || enc != h.enc {
			t.Fatalf("read alg %q enc %q, encoding/json %q %q", h.alg, h.enc, alg, enc)
		}
	})
}
