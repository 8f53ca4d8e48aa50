package token

import (
	"bytes"
	"crypto/elliptic"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/attestd/attestd/crypto/secret"
)

var algs = []Alg{HS256, ES256, EdDSA}

// TestMintVerify mints tokens with each algorithm and checks that both this
// package and golang-jwt (the algorithm pinned) verify them to the same claims.
func TestMintVerify(t *testing.T) {
	cases := []struct {
		name string
		edit func(*Claims)
	}{
		{"plain", func(*Claims) {}},
		{"unbound", func(c *Claims) { c.Payload = "" }},
		{"annotation-pass", func(c *Claims) { c.Annotation = strp("") }},
		{"annotation-fail", func(c *Claims) { c.Annotation = strp("rooted,hooked") }},
		{"monitor-fail", func(c *Claims) { c.Annotation, c.Monitor = strp("rooted"), true }},
		{"monitor-pass-debug", func(c *Claims) { c.Annotation, c.Monitor, c.Debug = strp(""), true, "ci-runner" }},
		{"debug", func(c *Claims) { c.Debug = "emulator \"pixel\"" }},
		{"escapes", func(c *Claims) {
			c.Subject = "com.ex\"ample\\shop\n\t\x00\x1f</script>&"
			c.ID = "ÿ€😀\u2028\u2029"
			c.Annotation = strp("\"quoted\"")
		}},
		{"empty-strings", func(c *Claims) { c.Issuer, c.Subject, c.ID, c.Device = "", "", "", "" }},
	}
	for _, alg := range algs {
		s, key := newSignerKey(t, "kid-"+string(alg), alg)
		ks := keySet(t, s.Verifier())
		for _, tc := range cases {
			t.Run(string(alg)+"/"+tc.name, func(t *testing.T) {
				c := sampleClaims()
				tc.edit(&c)
				tok := mint(t, s, c)
				o := opts()
				if c.Issuer == "" {
					o.Issuer = ""
				}
				var v Verified
				if err := ks.Verify(tok, o, &v); err != nil {
					t.Fatalf("Verify: %v", err)
				}
				if got := v.Claims(); !claimsEqual(got, c) {
					t.Fatalf("claims round trip:\n got %+v\nwant %+v", got, c)
				}
				if v.KID != s.KID() || v.Alg != alg {
					t.Fatalf("Verified kid/alg = %q/%s", v.KID, v.Alg)
				}
				if c.Issuer == "" {
					return // golang-jwt's WithIssuer needs one
				}
				mc := golangJWT(t, s, key, tok)
				for name, want := range map[string]string{"sub": c.Subject, "jti": c.ID, "did": c.Device} {
					if mc[name] != want {
						t.Errorf("golang-jwt %s = %q, want %q", name, mc[name], want)
					}
				}
				if _, has := mc["pay"]; has != (c.Payload != "") {
					t.Errorf("pay present = %v, want %v", has, c.Payload != "")
				}
				if mon, has := mc["mon"]; has != c.Monitor || (has && mon != true) {
					t.Errorf("mon = %v (present %v), want %v", mon, has, c.Monitor)
				}
				if dbg, has := mc["dbg"]; has != (c.Debug != "") || (has && dbg != c.Debug) {
					t.Errorf("dbg = %v (present %v), want %q", dbg, has, c.Debug)
				}
				arc, has := mc["arc"]
				if has != (c.Annotation != nil) || (has && arc != *c.Annotation) {
					t.Errorf("arc = %v (present %v), want %v", arc, has, c.Annotation)
				}
			})
		}
	}
}

func claimsEqual(a, b Claims) bool {
	if (a.Annotation == nil) != (b.Annotation == nil) || (a.Annotation != nil && *a.Annotation != *b.Annotation) {
		return false
	}
	a.Annotation, b.Annotation = nil, nil
	return a == b
}

// TestClaimsJSON checks the claims encoding against encoding/json.
func TestClaimsJSON(t *testing.T) {
	c := sampleClaims()
	c.Subject = "a\"b\\c\x01\u2028é"
	c.Annotation = strp("")
	got, err := appendClaims(nil, &c)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"iss":"attestd","sub":"a\"b\\c\u0001\u2028é","aud":"acme","iat":1760000000,"exp":1760000300,` +
		`"jti":"q7P1n6Xx0hQeS0Gm9cN9Vw","did":"` + c.Device + `","pay":"` + c.Payload + `","arc":""}`
	if string(got) != want {
		t.Fatalf("claims JSON\n got %s\nwant %s", got, want)
	}
	var m map[string]any
	if err := json.Unmarshal(got, &m); err != nil || m["sub"] != c.Subject {
		t.Fatalf("encoding/json reads sub %q (%v)", m["sub"], err)
	}
}

func TestMintRefusesBadClaims(t *testing.T) {
	s := newSigner(t, "k", HS256)
	for name, c := range map[string]Claims{
		"no-exp":       {Issuer: "attestd"},
		"invalid-utf8": {ExpiresAt: 1, Subject: "a\xffb"},
		"invalid-arc":  {ExpiresAt: 1, Annotation: strp("\xc3")},
		"too-large":    {ExpiresAt: 1, Subject: strings.Repeat("a", MaxTokenSize)},
	} {
		t.Run(name, func(t *testing.T) {
			dst := []byte("keep")
			out, err := s.AppendMint(dst, &c)
			if !errors.Is(err, ErrClaims) {
				t.Fatalf("err = %v, want ErrClaims", err)
			}
			if string(out) != "keep" {
				t.Fatalf("dst changed to %q", out)
			}
		})
	}
}

// TestHeader checks the header is exactly {"alg":ALG,"typ":"JWT","kid":KID}.
func TestHeader(t *testing.T) {
	for _, alg := range algs {
		s := newSigner(t, `k"1`, alg)
		tok := mint(t, s, sampleClaims())
		h, err := base64.RawURLEncoding.DecodeString(string(tok[:bytes.IndexByte(tok, '.')]))
		if err != nil {
			t.Fatal(err)
		}
		if want := `{"alg":"` + string(alg) + `","typ":"JWT","kid":"k\"1"}`; string(h) != want {
			t.Errorf("%s header %s, want %s", alg, h, want)
		}
	}
}

func TestAppendMintAppends(t *testing.T) {
	s := newSigner(t, "k", HS256)
	c := sampleClaims()
	tok, err := s.AppendMint([]byte("Attest-Token: "), &c)
	if err != nil {
		t.Fatal(err)
	}
	rest, ok := strings.CutPrefix(string(tok), "Attest-Token: ")
	if !ok {
		t.Fatalf("prefix lost: %q", tok)
	}
	var v Verified
	if err := keySet(t, s.Verifier()).Verify([]byte(rest), opts(), &v); err != nil {
		t.Fatal(err)
	}
}

func TestNewSignerRefusesKeys(t *testing.T) {
	cases := []struct {
		name string
		alg  Alg
		key  secret.Value
	}{
		{"hs256-short", HS256, secret.New(make([]byte, 31))},
		{"hs256-empty", HS256, secret.Value{}},
		{"es256-with-ed25519", ES256, edPKCS8(t)},
		{"es256-with-p384", ES256, ecPKCS8(t, elliptic.P384())},
		{"es256-not-der", ES256, secret.FromString("not a key")},
		{"es256-raw-secret", ES256, hmacSecret(t)},
		{"eddsa-with-p256", EdDSA, ecPKCS8(t, elliptic.P256())},
		{"eddsa-not-der", EdDSA, secret.FromString("")},
		{"none", Alg("none"), hmacSecret(t)},
		{"rs256", Alg("RS256"), hmacSecret(t)},
		{"lowercase", Alg("hs256"), hmacSecret(t)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if s, err := NewSigner("k", tc.alg, tc.key); !errors.Is(err, ErrKey) {
				t.Fatalf("NewSigner = %v, %v; want ErrKey", s, err)
			}
		})
	}
	for _, kid := range []string{"", strings.Repeat("k", MaxKIDLen+1), "\xff"} {
		if _, err := NewSigner(kid, HS256, hmacSecret(t)); !errors.Is(err, ErrKey) {
			t.Errorf("kid %q: err = %v, want ErrKey", kid, err)
		}
	}
}

func TestSignerKeys(t *testing.T) {
	for _, alg := range algs {
		s := newSigner(t, "k", alg)
		pub, ok := s.PublicKey()
		if ok != (alg != HS256) {
			t.Errorf("%s: PublicKey ok = %v", alg, ok)
		}
		if ok && (pub.KID() != "k" || pub.Alg() != alg || pub.Public() == nil) {
			t.Errorf("%s: PublicKey = %v %v", alg, pub.KID(), pub.Alg())
		}
		if v := s.Verifier(); v.KID() != "k" || v.Alg() != alg {
			t.Errorf("%s: Verifier = %v %v", alg, v.KID(), v.Alg())
		}
	}
}

// TestDecoy: a decoy token has the real token's header and form, verifies
// under the decoy's own key, and never under the real key.
func TestDecoy(t *testing.T) {
	for _, alg := range algs {
		t.Run(string(alg), func(t *testing.T) {
			real := newSigner(t, "acme-1", alg)
			decoy, err := real.Decoy()
			if err != nil {
				t.Fatal(err)
			}
			if decoy.KID() != real.KID() || decoy.Alg() != real.Alg() {
				t.Fatalf("decoy kid/alg %q/%s", decoy.KID(), decoy.Alg())
			}
			c := sampleClaims()
			rt, dt := mint(t, real, c), mint(t, decoy, c)
			rp, dp := bytes.Split(rt, []byte(".")), bytes.Split(dt, []byte("."))
			if !bytes.Equal(rp[0], dp[0]) {
				t.Fatalf("headers differ: %s vs %s", rp[0], dp[0])
			}
			if !bytes.Equal(rp[1], dp[1]) || len(rp[2]) != len(dp[2]) || bytes.Equal(rp[2], dp[2]) {
				t.Fatalf("decoy payload/signature shape differs or signature equal")
			}
			var v Verified
			if err := keySet(t, real.Verifier()).Verify(dt, opts(), &v); !errors.Is(err, ErrSignature) {
				t.Fatalf("real key on decoy token: %v, want ErrSignature", err)
			}
			if err := keySet(t, decoy.Verifier()).Verify(dt, opts(), &v); err != nil {
				t.Fatalf("decoy key on decoy token: %v", err)
			}
		})
	}
}
