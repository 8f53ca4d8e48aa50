package androidkey_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"testing"

	"github.com/attestd/attestd/verify/androidkey"
)

// entries returns n entries with distinct serials, as list members.
func entries(n int) string {
	parts := make([]string, n)
	for i := range parts {
		parts[i] = fmt.Sprintf(`"%x": {"status": "REVOKED"}`, i+1)
	}
	return strings.Join(parts, ", ")
}

// TestStatusListEntryBoundStopsTheDecode: a list naming more entries than
// the bound is refused at the first entry past it, before the rest of the
// list is decoded: the parser used to decode the whole list into a map and
// count afterwards, so a hostile list server made a node hold every entry
// the 16 MiB allowed (some 1.4 million) first. Here the rest of the list
// is not even JSON: the refusal names the bound, not the syntax error.
func TestStatusListEntryBoundStopsTheDecode(t *testing.T) {
	const max = 4
	if l, err := androidkey.ParseStatusListMax([]byte(`{"entries": {`+entries(max)+`}}`), max); err != nil || l.Len() != max {
		t.Fatalf("a list at the bound: %v", err)
	}
	for name, doc := range map[string]string{
		"one past the bound, then garbage": `{"entries": {` + entries(max+1) + `, "zz": !!! not json`,
		"split over two entries members":   `{"entries": {` + entries(2) + `}, "ENTRIES": {` + entries(3) + `}} trailing`,
	} {
		_, err := androidkey.ParseStatusListMax([]byte(doc), max)
		if !errors.Is(err, androidkey.ErrMalformed) || !strings.Contains(err.Error(), fmt.Sprintf("more than %d entries", max)) {
			t.Errorf("%s: %v, want a refusal naming the bound", name, err)
		}
	}
}

// TestStatusListDecodeMatchesTheFormat: the list is read as encoding/json
// would read it into {"entries": map}: unknown members skipped, member
// names in any case, an entry's unknown fields ignored; anything else,
// including data after the object, an "entries" that is not an object and
// an entry that is not an object, is refused. Errors never quote more
// than a serial's worth of the list.
func TestStatusListDecodeMatchesTheFormat(t *testing.T) {
	ok := map[string]int{
		`{"entries": {}}`: 0,
		`{"note": {"entries": {"a": {}}}, "entries": {"a": {"status": "REVOKED", "x": [1]}}, "tail": [null]}`: 1,
		`{"Entries": {"a": {"Status": "SUSPENDED"}}}`:                                                         1,
		`{"entries": {"a": null, "0a": {"status": "REVOKED"}}}`:                                               1,
		" {\"entries\": {\"b\": {}}}\n\t ":                                                                    1,
	}
	for doc, n := range ok {
		l, err := androidkey.ParseStatusList([]byte(doc))
		if err != nil || l.Len() != n {
			t.Errorf("%s: %d entries, %v; want %d", doc, l.Len(), err, n)
		}
	}
	long := strings.Repeat("g", 4096)
	for name, doc := range map[string]string{
		"trailing object":      `{"entries": {}} {}`,
		"trailing garbage":     `{"entries": {}} x`,
		"entries null":         `{"entries": null}`,
		"entries string":       `{"entries": "a"}`,
		"entry not an object":  `{"entries": {"a": 1}}`,
		"entry array":          `{"entries": {"a": []}}`,
		"top-level array":      `[{"entries": {}}]`,
		"top-level null":       `null`,
		"unterminated":         `{"entries": {"a": {}}`,
		"unterminated entries": `{"entries": {"a": {}`,
		"empty":                ``,
		"long bad serial":      `{"entries": {"` + long + `": {}}}`,
	} {
		_, err := androidkey.ParseStatusList([]byte(doc))
		if !errors.Is(err, androidkey.ErrMalformed) {
			t.Errorf("%s: %v, want ErrMalformed", name, err)
			continue
		}
		if len(err.Error()) > 400 {
			t.Errorf("%s: the error quotes the list (%d bytes)", name, len(err.Error()))
		}
	}
}

// statusListOf is a list of n entries in Google's format.
func statusListOf(n int) []byte {
	parts := make([]string, n)
	for i := range parts {
		parts[i] = fmt.Sprintf(`"%016x": {"status": "REVOKED", "reason": "KEY_COMPROMISE"}`, 0x2c8cdddfd5e03bfc+i)
	}
	return []byte(`{"entries": {` + strings.Join(parts, ", ") + `}}`)
}

// BenchmarkParseStatusList parses a list of 5,000 entries (Google's list
// is some thousands) entry by entry; its baseline beside it is what the
// parser did before: encoding/json into a map, the serials normalised
// after.
func BenchmarkParseStatusList(b *testing.B) {
	doc := statusListOf(5000)
	b.SetBytes(int64(len(doc)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := androidkey.ParseStatusList(doc); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkBaselineStatusListUnmarshal(b *testing.B) {
	doc := statusListOf(5000)
	b.SetBytes(int64(len(doc)))
	b.ReportAllocs()
	for b.Loop() {
		var v struct {
			Entries map[string]androidkey.StatusEntry `json:"entries"`
		}
		if err := json.Unmarshal(doc, &v); err != nil || len(v.Entries) != 5000 {
			b.Fatal(err)
		}
		out := make(map[string]androidkey.StatusEntry, len(v.Entries))
		for k, e := range v.Entries {
			s, _ := new(big.Int).SetString(k, 16)
			out[string(s.Bytes())] = e
		}
	}
}
