// Package jsontest holds what the tests of the JSON readers under verify
// share: facts about a JSON document told by encoding/json, the reference
// the readers are held to.
package jsontest

import (
	"bytes"
	"encoding/json"
)

// Depth is the deepest nesting of arrays and objects in b, as far as
// encoding/json reads it (for valid JSON, all of it).
func Depth(b []byte) int {
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
