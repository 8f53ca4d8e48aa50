package model

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"testing"
)

// FuzzDecodeBundle: the strict decoder (and RefuseRepeatedMembers) never
// panics, and whatever it accepts has no repeated member (an independent count: object keys as
// encoding/json's tokenizer sees them against the members left once
// encoding/json has decoded the document into maps, which keep one of
// each), decodes alike with encoding/json, and reads back the same once
// re-encoded. The corpus (testdata/fuzz/FuzzDecodeBundle) holds the
// attacker's inputs: repeated and escaped-repeated policy flags,
// case-folded names, deep nesting, trailing data.
func FuzzDecodeBundle(f *testing.F) {
	f.Add([]byte(goodBundle))
	f.Fuzz(func(t *testing.T, data []byte) {
		if RefuseRepeatedMembers(data) == nil {
			keys, ok := countKeys(data)
			generic, err := decodeGeneric(data)
			if !ok || err != nil {
				t.Fatalf("RefuseRepeatedMembers accepted input that is not one JSON value: %q", data)
			}
			if kept := countMembers(generic); kept != keys {
				t.Fatalf("RefuseRepeatedMembers accepted %d members of which only %d are distinct: %q", keys, kept, data)
			}
		}
		b, err := DecodeBundle(bytes.NewReader(data))
		if err != nil {
			if b != nil || !errors.Is(err, ErrInvalid) {
				t.Fatalf("refused with %v and a bundle %v", err, b != nil)
			}
			return
		}
		keys, ok := countKeys(data)
		generic, gerr := decodeGeneric(data)
		if !ok || gerr != nil {
			t.Fatalf("accepted input that is not one JSON value: %q", data)
		}
		if kept := countMembers(generic); kept != keys {
			t.Fatalf("accepted %d members of which only %d are distinct: %q", keys, kept, data)
		}
		var loose Bundle
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&loose); err != nil {
			t.Fatalf("accepted what encoding/json refuses: %v", err)
		}
		got, _ := json.Marshal(b)
		if want, _ := json.Marshal(&loose); !bytes.Equal(got, want) {
			t.Fatalf("decodes differently from encoding/json:\n%s\n%s", got, want)
		}
		back, err := DecodeBundle(bytes.NewReader(got))
		if err != nil {
			t.Fatalf("its own encoding is refused: %v", err)
		}
		if again, _ := json.Marshal(back); !bytes.Equal(again, got) {
			t.Fatalf("round trip differs:\n%s\n%s", again, got)
		}
	})
}

// decodeGeneric decodes data into maps and slices, numbers kept as text.
func decodeGeneric(data []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	err := dec.Decode(&v)
	return v, err
}

// countKeys counts the member names of every object in data (one JSON
// value), as encoding/json's tokenizer reads them.
func countKeys(data []byte) (int, bool) {
	type frame struct{ object, expectKey bool }
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var stack []frame
	keys := 0
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			return keys, len(stack) == 0
		}
		if err != nil {
			return 0, false
		}
		top := len(stack) - 1
		if top >= 0 && stack[top].expectKey && tok != json.Delim('}') {
			keys++
			stack[top].expectKey = false
			continue
		}
		switch tok {
		case json.Delim('{'):
			stack = append(stack, frame{object: true, expectKey: true})
			continue
		case json.Delim('['):
			stack = append(stack, frame{})
			continue
		case json.Delim('}'), json.Delim(']'):
			stack = stack[:top]
		}
		// a value ended: an enclosing object expects a key next
		if n := len(stack); n > 0 && stack[n-1].object {
			stack[n-1].expectKey = true
		}
	}
}

// countMembers counts the members of every object in a decoded document.
func countMembers(v any) int {
	n := 0
	switch v := v.(type) {
	case map[string]any:
		n += len(v)
		for _, e := range v {
			n += countMembers(e)
		}
	case []any:
		for _, e := range v {
			n += countMembers(e)
		}
	}
	return n
}
