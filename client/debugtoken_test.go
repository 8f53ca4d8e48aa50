package client

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestBodyCarriesDebugTokenOnlyWhenConfigured: Config.DebugToken is sent
// as debug_token with every attest body, and a client without one never
// sends the member (a release build must not).
func TestBodyCarriesDebugTokenOnlyWhenConfigured(t *testing.T) {
	app := App{ID: "com.example.shop", Version: "1", Platform: "android", Signer: make([]byte, 32), CodeDigest: make([]byte, 32)}
	tok := "adt_" + strings.Repeat("Q", 43)
	for _, tc := range []struct {
		token string
		want  any
	}{{tok, tok}, {"", nil}} {
		c, err := New(Config{BaseURL: "http://127.0.0.1:1", App: app, DebugToken: tc.token})
		if err != nil {
			t.Fatal(err)
		}
		b, err := c.Body("nonce", Evidence{})
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		if got, has := m["debug_token"]; got != tc.want || has != (tc.want != nil) {
			t.Fatalf("debug_token %v (present %v), want %v", got, has, tc.want)
		}
	}
}
