package token

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

// The cnf claim (RFC 7800, PROTOCOL.md §12): minted from a device key,
// read back exactly, and refused in every form this package cannot honour.

func devicePoint(t testing.TB) [ConfirmationSize]byte {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	b, err := k.PublicKey.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	return [ConfirmationSize]byte(b)
}

func TestCnfRoundTrip(t *testing.T) {
	for _, alg := range algs {
		t.Run(string(alg), func(t *testing.T) {
			s := newSigner(t, "k1", alg)
			c := sampleClaims()
			c.Confirmation = devicePoint(t)
			tok := mint(t, s, c)
			var v Verified
			if err := keySet(t, s.Verifier()).Verify(tok, opts(), &v); err != nil {
				t.Fatal(err)
			}
			if !v.HasConfirmation || v.Confirmation != c.Confirmation {
				t.Fatalf("cnf read back as %x (present %v)", v.Confirmation, v.HasConfirmation)
			}
			if got := v.Claims(); got != c {
				t.Fatalf("claims %+v, want %+v", got, c)
			}
			// What any JWT library reads: cnf.jwk as RFC 7800 and RFC 7518 say.
			parts := strings.Split(string(tok), ".")
			raw, _ := base64.RawURLEncoding.DecodeString(parts[1])
			var m struct {
				Cnf struct {
					JWK map[string]string `json:"jwk"`
				} `json:"cnf"`
			}
			if err := json.Unmarshal(raw, &m); err != nil {
				t.Fatal(err)
			}
			j := m.Cnf.JWK
			x, _ := base64.RawURLEncoding.DecodeString(j["x"])
			y, _ := base64.RawURLEncoding.DecodeString(j["y"])
			if len(j) != 4 || j["kty"] != "EC" || j["crv"] != "P-256" || string(x) != string(c.Confirmation[1:33]) || string(y) != string(c.Confirmation[33:]) {
				t.Fatalf("cnf as JSON: %v", j)
			}
		})
	}
	t.Run("absent", func(t *testing.T) {
		s := newSigner(t, "k1", HS256)
		tok := mint(t, s, sampleClaims())
		var v Verified
		if err := keySet(t, s.Verifier()).Verify(tok, opts(), &v); err != nil {
			t.Fatal(err)
		}
		if v.HasConfirmation || strings.Contains(string(tok), "Y25m") {
			t.Fatal("a token minted without cnf has one")
		}
	})
	t.Run("mint-refuses-a-compressed-point", func(t *testing.T) {
		c := sampleClaims()
		c.Confirmation = devicePoint(t)
		c.Confirmation[0] = 2
		if _, err := newSigner(t, "k1", HS256).AppendMint(nil, &c); !errors.Is(err, ErrClaims) {
			t.Fatalf("%v, want ErrClaims", err)
		}
	})
}

// TestCnfTheVerifierCannotHonourIsRefused: a token whose cnf names a key
// some other way, or another kind of key, is malformed; it never verifies
// as a token without cnf (which a verifier that requires request
// signatures would refuse, but one that does not would take as a bearer
// token bound to nothing).
func TestCnfTheVerifierCannotHonourIsRefused(t *testing.T) {
	key, ks := hsFixture(t)
	p := devicePoint(t)
	x := base64.RawURLEncoding.EncodeToString(p[1:33])
	y := base64.RawURLEncoding.EncodeToString(p[33:])
	jwk := func(members string) string { return `{"jwk":{` + members + `}}` }
	good := `"kty":"EC","crv":"P-256","x":"` + x + `","y":"` + y + `"`
	for name, cnf := range map[string]string{
		"jku":                `{"jku":"https://attacker.example/keys"}`,
		"kid":                `{"kid":"device-1"}`,
		"jwk-and-kid":        `{"jwk":{` + good + `},"kid":"k"}`,
		"jwk-twice":          `{"jwk":{` + good + `},"jwk":{` + good + `}}`,
		"empty":              `{}`,
		"not-an-object":      `"` + x + `"`,
		"null":               `null`,
		"jwk-okp":            jwk(`"kty":"OKP","crv":"Ed25519","x":"` + x + `"`),
		"jwk-p384":           jwk(`"kty":"EC","crv":"P-384","x":"` + x + `","y":"` + y + `"`),
		"jwk-private":        jwk(good + `,"d":"` + x + `"`),
		"jwk-no-y":           jwk(`"kty":"EC","crv":"P-256","x":"` + x + `"`),
		"jwk-short-x":        jwk(`"kty":"EC","crv":"P-256","x":"` + x[:42] + `","y":"` + y + `"`),
		"jwk-padded-x":       jwk(`"kty":"EC","crv":"P-256","x":"` + x + `=","y":"` + y + `"`),
		"jwk-x-twice":        jwk(good + `,"x":"` + x + `"`),
		"jwk-kty-twice":      jwk(good + `,"kty":"EC"`),
		"jwk-x-as-number":    jwk(`"kty":"EC","crv":"P-256","x":1,"y":"` + y + `"`),
		"jwk-std-base64-y":   jwk(`"kty":"EC","crv":"P-256","x":"` + x + `","y":"` + strings.NewReplacer("-", "+", "_", "/").Replace(y) + `"`),
		"jwk-lower-case-kty": jwk(`"kty":"ec","crv":"P-256","x":"` + x + `","y":"` + y + `"`),
	} {
		t.Run(name, func(t *testing.T) {
			if name == "jwk-std-base64-y" && !strings.ContainsAny(y, "-_") {
				t.Skip("this key's y has no character that differs between the alphabets")
			}
			claims := `{"iss":"attestd","aud":"acme","exp":` + itoa(testNow.Unix()+300) + `,"cnf":` + cnf + `}`
			tok := craftHS256(key, goodHeader, claims)
			var v Verified
			if err := ks.Verify(tok, opts(), &v); !errors.Is(err, ErrMalformed) {
				t.Fatalf("%v, want ErrMalformed", err)
			}
		})
	}
	t.Run("cnf-twice", func(t *testing.T) {
		c := `{"jwk":{` + good + `}}`
		claims := `{"iss":"attestd","aud":"acme","exp":` + itoa(testNow.Unix()+300) + `,"cnf":` + c + `,"cnf":` + c + `}`
		var v Verified
		if err := ks.Verify(craftHS256(key, goodHeader, claims), opts(), &v); !errors.Is(err, ErrMalformed) {
			t.Fatalf("%v, want ErrMalformed", err)
		}
	})
	t.Run("unknown-jwk-members-are-ignored", func(t *testing.T) {
		claims := `{"iss":"attestd","aud":"acme","exp":` + itoa(testNow.Unix()+300) + `,"cnf":{"jwk":{"use":"sig","alg":"ES256",` + good + `,"key_ops":["verify"]}}}`
		var v Verified
		if err := ks.Verify(craftHS256(key, goodHeader, claims), opts(), &v); err != nil || !v.HasConfirmation || v.Confirmation != p {
			t.Fatalf("%v (cnf %v)", err, v.HasConfirmation)
		}
	})
}
