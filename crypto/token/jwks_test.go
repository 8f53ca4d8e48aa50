package token

import (
	"crypto/ecdsa"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	jose "github.com/go-jose/go-jose/v4"
)

func TestAppendJWKS(t *testing.T) {
	es := newSigner(t, "es-1", ES256)
	ed := newSigner(t, `ed"2`, EdDSA)
	hs := newSigner(t, "hs-1", HS256)
	doc := AppendJWKS(nil, []VerifyKey{hs.Verifier(), es.Verifier(), {}, ed.Verifier()})

	var raw struct {
		Keys []map[string]string `json:"keys"`
	}
	if err := json.Unmarshal(doc, &raw); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, doc)
	}
	if len(raw.Keys) != 2 {
		t.Fatalf("%d keys, want 2 (HS256 and zero keys left out):\n%s", len(raw.Keys), doc)
	}
	if k := raw.Keys[0]; k["kty"] != "EC" || k["crv"] != "P-256" || k["alg"] != "ES256" || k["use"] != "sig" || k["kid"] != "es-1" || len(k["x"]) != 43 || len(k["y"]) != 43 {
		t.Errorf("EC key %v", k)
	}
	if k := raw.Keys[1]; k["kty"] != "OKP" || k["crv"] != "Ed25519" || k["alg"] != "EdDSA" || k["use"] != "sig" || k["kid"] != `ed"2` || len(k["x"]) != 43 || k["y"] != "" {
		t.Errorf("OKP key %v", k)
	}
	if strings.Contains(string(doc), `"d"`) || strings.Contains(string(doc), "hs-1") {
		t.Errorf("JWKS leaks a private or HS256 key:\n%s", doc)
	}
	if got := string(AppendJWKS(nil, []VerifyKey{hs.Verifier()})); got != `{"keys":[]}` {
		t.Errorf("HS256-only JWKS = %s", got)
	}
	if got := string(AppendJWKS([]byte("x"), nil)); got != `x{"keys":[]}` {
		t.Errorf("empty JWKS = %s", got)
	}
}

// TestJWKSWithGoJose: go-jose reads our JWKS and verifies our tokens with it.
func TestJWKSWithGoJose(t *testing.T) {
	es := newSigner(t, "es-1", ES256)
	ed := newSigner(t, "ed-1", EdDSA)
	doc := AppendJWKS(nil, []VerifyKey{es.Verifier(), ed.Verifier()})
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(doc, &set); err != nil {
		t.Fatalf("go-jose refuses the JWKS: %v", err)
	}
	for _, tc := range []struct {
		s   *Signer
		alg jose.SignatureAlgorithm
	}{{es, jose.ES256}, {ed, jose.EdDSA}} {
		t.Run(string(tc.alg), func(t *testing.T) {
			keys := set.Key(tc.s.KID())
			if len(keys) != 1 || !keys[0].Valid() || !keys[0].IsPublic() || keys[0].Algorithm != string(tc.alg) || keys[0].Use != "sig" {
				t.Fatalf("go-jose key for %s: %+v", tc.s.KID(), keys)
			}
			tok := mint(t, tc.s, sampleClaims())
			jws, err := jose.ParseSigned(string(tok), []jose.SignatureAlgorithm{tc.alg})
			if err != nil {
				t.Fatal(err)
			}
			payload, err := jws.Verify(keys[0])
			if err != nil {
				t.Fatalf("go-jose verify: %v", err)
			}
			var c map[string]any
			if err := json.Unmarshal(payload, &c); err != nil || c["aud"] != "acme" {
				t.Fatalf("payload %s (%v)", payload, err)
			}
			decoy, _ := tc.s.Decoy()
			djws, _ := jose.ParseSigned(string(mint(t, decoy, sampleClaims())), []jose.SignatureAlgorithm{tc.alg})
			if _, err := djws.Verify(keys[0]); err == nil {
				t.Fatal("go-jose accepted a decoy token")
			}
		})
	}
}

func TestParseJWKSRoundTrip(t *testing.T) {
	es := newSigner(t, "es-1", ES256)
	ed := newSigner(t, "ed-1", EdDSA)
	keys, err := ParseJWKS(AppendJWKS(nil, []VerifyKey{es.Verifier(), ed.Verifier()}))
	if err != nil {
		t.Fatal(err)
	}
	ks := keySet(t, keys...)
	for _, s := range []*Signer{es, ed} {
		var v Verified
		if err := ks.Verify(mint(t, s, sampleClaims()), opts(), &v); err != nil {
			t.Fatalf("%s: %v", s.Alg(), err)
		}
	}
	if !keys[0].Public().(*ecdsa.PublicKey).Equal(es.Verifier().Public()) {
		t.Fatal("EC key changed in the round trip")
	}
}

func TestParseJWKS(t *testing.T) {
	es := newSigner(t, "es-1", ES256)
	good := string(AppendJWKS(nil, []VerifyKey{es.Verifier()}))
	var m struct{ Keys []map[string]any }
	_ = json.Unmarshal([]byte(good), &m)
	ec := m.Keys[0]
	with := func(edits map[string]any) string {
		k := map[string]any{}
		for n, v := range ec {
			k[n] = v
		}
		for n, v := range edits {
			if v == nil {
				delete(k, n)
			} else {
				k[n] = v
			}
		}
		b, _ := json.Marshal(map[string]any{"keys": []any{k}})
		return string(b)
	}
	cases := []struct {
		name  string
		doc   string
		nkeys int
		err   error
	}{
		{"good", good, 1, nil},
		{"empty", `{"keys":[]}`, 0, nil},
		{"no-alg", with(map[string]any{"alg": nil}), 1, nil},
		{"no-use", with(map[string]any{"use": nil}), 1, nil},
		{"unknown-members", with(map[string]any{"x5c": []string{"MII"}, "key_ops": []string{"verify"}}), 1, nil},
		{"skip-rsa", `{"keys":[{"kty":"RSA","n":"AQAB","e":"AQAB","kid":"r"}]}`, 0, nil},
		{"skip-oct", `{"keys":[{"kty":"oct","k":"c2VjcmV0","kid":"h"}]}`, 0, nil},
		{"skip-p384", with(map[string]any{"crv": "P-384"}), 0, nil},
		{"skip-x25519", `{"keys":[{"kty":"OKP","crv":"X25519","x":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA","kid":"x"}]}`, 0, nil},
		{"skip-enc", with(map[string]any{"use": "enc"}), 0, nil},
		{"alg-mismatch", with(map[string]any{"alg": "ES384"}), 0, ErrKey},
		{"alg-hs256", with(map[string]any{"alg": "HS256"}), 0, ErrKey},
		{"private", with(map[string]any{"d": "AAAA"}), 0, ErrKey},
		{"no-kid", with(map[string]any{"kid": nil}), 0, ErrKey},
		{"short-x", with(map[string]any{"x": "AAAA"}), 0, ErrKey},
		{"off-curve", with(map[string]any{"y": ec["x"]}), 0, ErrKey},
		{"kid-number", with(map[string]any{"kid": 1}), 0, ErrMalformed},
		{"dup-kid", `{"keys":[` + good[9:len(good)-2] + `,` + good[9:len(good)-2] + `]}`, 0, ErrKey},
		{"dup-keys", `{"keys":[],"keys":[]}`, 0, ErrMalformed},
		{"dup-member", `{"keys":[{"kty":"EC","kty":"EC"}]}`, 0, ErrMalformed},
		{"no-keys", `{}`, 0, ErrMalformed},
		{"keys-object", `{"keys":{}}`, 0, ErrMalformed},
		{"not-json", `{"keys":[`, 0, ErrMalformed},
		{"trailing", good + `x`, 0, ErrMalformed},
		{"too-large", `{"keys":[],"pad":"` + strings.Repeat("a", MaxJWKSSize) + `"}`, 0, ErrMalformed},
		{"too-many", `{"keys":[` + strings.Repeat(`{"kty":"RSA"},`, MaxJWKSKeys) + `{"kty":"RSA"}]}`, 0, ErrMalformed},
		{"case-sensitive-names", `{"KEYS":[]}`, 0, ErrMalformed},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			keys, err := ParseJWKS([]byte(tc.doc))
			if tc.err != nil {
				if !errors.Is(err, tc.err) {
					t.Fatalf("err = %v, want %v", err, tc.err)
				}
				return
			}
			if err != nil || len(keys) != tc.nkeys {
				t.Fatalf("ParseJWKS = %d keys, %v; want %d", len(keys), err, tc.nkeys)
			}
		})
	}
}
