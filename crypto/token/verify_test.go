package token

import (
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/attestd/attestd/crypto/secret"
)

var enc = base64.RawURLEncoding

// craftHS256 builds a token from raw header and claims JSON, signed with
// HMAC-SHA256 under key, independently of Signer.
func craftHS256(key []byte, header, claims string) []byte {
	in := enc.EncodeToString([]byte(header)) + "." + enc.EncodeToString([]byte(claims))
	m := hmac.New(sha256.New, key)
	m.Write([]byte(in))
	return []byte(in + "." + enc.EncodeToString(m.Sum(nil)))
}

// hsFixture is an HS256 key set with a known secret, for crafted tokens.
func hsFixture(t *testing.T) ([]byte, *KeySet) {
	t.Helper()
	key := []byte("0123456789abcdef0123456789abcdef")
	vk, err := NewHMACKey("k1", secret.New(key))
	if err != nil {
		t.Fatal(err)
	}
	return key, keySet(t, vk)
}

const goodHeader = `{"alg":"HS256","typ":"JWT","kid":"k1"}`

func goodClaims() string {
	return `{"iss":"attestd","sub":"app","aud":"acme","iat":1760000000,"exp":1760000300}`
}

func wantErr(t *testing.T, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("err = %v, want %v", err, want)
	}
}

func TestVerifyTampered(t *testing.T) {
	for _, alg := range algs {
		s := newSigner(t, "k1", alg)
		ks := keySet(t, s.Verifier())
		tok := string(mint(t, s, sampleClaims()))
		h, p, sig, _ := cut3(tok)
		other := sampleClaims()
		other.Audience = "evil"
		_, p2, sig2, _ := cut3(string(mint(t, s, other)))
		hdr2 := enc.EncodeToString([]byte(`{"alg":"` + string(alg) + `","typ":"JWT","kid":"k1","x":1}`))
		flip := func(s string, i int) string {
			b := []byte(s)
			b[i] = map[bool]byte{true: 'A', false: 'B'}[b[i] != 'A']
			return string(b)
		}
		cases := map[string]struct {
			tok  string
			want error
		}{
			"signature-flipped":    {h + "." + p + "." + flip(sig, 0), ErrSignature},
			"signature-truncated":  {h + "." + p + "." + sig[:len(sig)-1], ErrSignature},
			"signature-extended":   {h + "." + p + "." + sig + "AA", ErrSignature},
			"signature-empty":      {h + "." + p + ".", ErrSignature},
			"signature-other":      {h + "." + p + "." + sig2, ErrSignature},
			"payload-swapped":      {h + "." + p2 + "." + sig, ErrSignature},
			"payload-flipped":      {h + "." + flip(p, 5) + "." + sig, ErrSignature},
			"header-changed":       {hdr2 + "." + p + "." + sig, ErrSignature},
			"signature-noncanon":   {h + "." + p + "." + noncanonical(sig), ErrSignature},
			"signature-std-base64": {h + "." + p + "." + strings.NewReplacer("-", "+", "_", "/").Replace(sig) + "+", ErrMalformed},
		}
		for name, tc := range cases {
			t.Run(string(alg)+"/"+name, func(t *testing.T) {
				var v Verified
				wantErr(t, ks.Verify([]byte(tc.tok), opts(), &v), tc.want)
				if v.Subject != nil || v.KID != "" {
					t.Fatalf("Verified not empty after failure: %+v", v)
				}
			})
		}
	}
}

func cut3(tok string) (h, p, s string, ok bool) {
	h, rest, ok1 := strings.Cut(tok, ".")
	p, s, ok2 := strings.Cut(rest, ".")
	return h, p, s, ok1 && ok2
}

// noncanonical sets the unused low bits of the last base64url character,
// which a lax decoder ignores: the same bytes, a second encoding.
func noncanonical(sig string) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	last := strings.IndexByte(alphabet, sig[len(sig)-1])
	return sig[:len(sig)-1] + string(alphabet[last|1])
}

// TestAlgorithmConfusion: the kid's key decides the algorithm; the header
// can only agree with it.
func TestAlgorithmConfusion(t *testing.T) {
	es := newSigner(t, "es", ES256)
	ed := newSigner(t, "ed", EdDSA)
	hsKey := []byte("0123456789abcdef0123456789abcdef")
	hsVK, _ := NewHMACKey("hs", secret.New(hsKey))
	ks := keySet(t, es.Verifier(), ed.Verifier(), hsVK)

	esPub, _ := es.Verifier().Public().(interface{ Bytes() ([]byte, error) }).Bytes()
	claims := goodClaims()
	hdr := func(alg, kid string) string { return `{"alg":"` + alg + `","typ":"JWT","kid":"` + kid + `"}` }
	// A valid ES256 token with its header's alg rewritten, signature kept.
	esTok := string(mint(t, es, sampleClaims()))
	_, esP, esSig, _ := cut3(esTok)

	cases := map[string]string{
		// The classic attack: HMAC keyed with the public key's bytes.
		"hs256-for-es256-kid": string(craftHS256(esPub, hdr("HS256", "es"), claims)),
		"none":                enc.EncodeToString([]byte(hdr("none", "es"))) + "." + enc.EncodeToString([]byte(claims)) + ".",
		"none-hs-kid":         enc.EncodeToString([]byte(hdr("none", "hs"))) + "." + enc.EncodeToString([]byte(claims)) + ".",
		"eddsa-for-es256-kid": enc.EncodeToString([]byte(hdr("EdDSA", "es"))) + "." + esP + "." + esSig,
		"es256-for-eddsa-kid": enc.EncodeToString([]byte(hdr("ES256", "ed"))) + "." + esP + "." + esSig,
		"es256-for-hs256-kid": enc.EncodeToString([]byte(hdr("ES256", "hs"))) + "." + esP + "." + esSig,
		"lowercase-alg":       string(craftHS256(hsKey, hdr("hs256", "hs"), claims)),
		"hs512":               string(craftHS256(hsKey, hdr("HS512", "hs"), claims)),
		"rs256":               enc.EncodeToString([]byte(hdr("RS256", "es"))) + "." + esP + "." + esSig,
	}
	for name, tok := range cases {
		t.Run(name, func(t *testing.T) {
			var v Verified
			wantErr(t, ks.Verify([]byte(tok), opts(), &v), ErrAlgorithm)
		})
	}
	t.Run("control", func(t *testing.T) {
		var v Verified
		if err := ks.Verify(craftHS256(hsKey, hdr("HS256", "hs"), claims), opts(), &v); err != nil {
			t.Fatal(err)
		}
	})
}

func TestVerifyTimes(t *testing.T) {
	key, ks := hsFixture(t)
	now := testNow.Unix()
	tok := func(iat, exp, nbf int64) []byte {
		c := `{"iss":"attestd","aud":"acme","iat":` + itoa(iat) + `,"exp":` + itoa(exp)
		if nbf != 0 {
			c += `,"nbf":` + itoa(nbf)
		}
		return craftHS256(key, goodHeader, c+"}")
	}
	cases := []struct {
		name          string
		iat, exp, nbf int64
		leeway        time.Duration
		want          error
	}{
		{"ok", now - 10, now + 1, 0, 0, nil},
		{"expired/at-exp", now - 300, now, 0, 0, ErrExpired},
		{"expired/past", now - 300, now - 1, 0, 0, ErrExpired},
		{"expired/within-leeway", now - 300, now - 29, 0, 30 * time.Second, nil},
		{"expired/at-leeway", now - 300, now - 30, 0, 30 * time.Second, ErrExpired},
		{"expired/beyond-leeway", now - 300, now - 31, 0, 30 * time.Second, ErrExpired},
		{"expired/negative-leeway-is-zero", now - 300, now, 0, -time.Hour, ErrExpired},
		{"iat/future", now + 1, now + 300, 0, 0, ErrNotYetValid},
		{"iat/future-within-leeway", now + 30, now + 300, 0, 30 * time.Second, nil},
		{"iat/future-beyond-leeway", now + 31, now + 300, 0, 30 * time.Second, ErrNotYetValid},
		{"nbf/future", now, now + 300, now + 5, 0, ErrNotYetValid},
		{"nbf/now", now, now + 300, now, 0, nil},
		{"exp/min-int64", now, -1 << 63, 0, time.Hour, ErrExpired},
		{"exp/max-int64", now, 1<<63 - 1, 0, time.Hour, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			o := opts()
			o.Leeway = tc.leeway
			var v Verified
			err := ks.Verify(tok(tc.iat, tc.exp, tc.nbf), o, &v)
			if tc.want == nil {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			wantErr(t, err, tc.want)
		})
	}
	t.Run("fractional-now", func(t *testing.T) {
		o := opts()
		o.Now = time.Unix(now+299, 999_999_999) // still before exp = now+300
		var v Verified
		if err := ks.Verify(tok(now, now+300, 0), o, &v); err != nil {
			t.Fatal(err)
		}
		o.Now = time.Unix(now+300, 1)
		wantErr(t, ks.Verify(tok(now, now+300, 0), o, &v), ErrExpired)
	})
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func TestVerifyAudienceIssuer(t *testing.T) {
	key, ks := hsFixture(t)
	tok := craftHS256(key, goodHeader, goodClaims())
	cases := []struct {
		name     string
		aud, iss string
		want     error
	}{
		{"match", "acme", "attestd", nil},
		{"unchecked", "", "", nil},
		{"wrong-aud", "other", "attestd", ErrAudience},
		{"aud-prefix", "acm", "attestd", ErrAudience},
		{"aud-case", "ACME", "attestd", ErrAudience},
		{"wrong-iss", "acme", "someone", ErrIssuer},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var v Verified
			err := ks.Verify(tok, Options{Now: testNow, Audience: tc.aud, Issuer: tc.iss}, &v)
			if tc.want == nil && err != nil || tc.want != nil && !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
		})
	}
}

// TestVerifyMalformed: shapes, headers and claims this package refuses.
func TestVerifyMalformed(t *testing.T) {
	key, ks := hsFixture(t)
	good := string(craftHS256(key, goodHeader, goodClaims()))
	h, p, s, _ := cut3(good)
	signed := func(header, claims string) string { return string(craftHS256(key, header, claims)) }
	claimsWith := func(extra string) string { return signed(goodHeader, strings.TrimSuffix(goodClaims(), "}")+extra+"}") }
	cases := []struct {
		name string
		tok  string
		want error
	}{
		{"empty", "", ErrMalformed},
		{"one-part", h, ErrMalformed},
		{"two-parts", h + "." + p, ErrMalformed},
		{"four-parts", good + ".x", ErrMalformed},
		{"empty-header", "." + p + "." + s, ErrMalformed},
		{"empty-payload", h + ".." + s, ErrMalformed},
		{"padding", h + "=." + p + "." + s, ErrMalformed},
		{"space", " " + good, ErrMalformed},
		{"newline", h + "\n." + p + "." + s, ErrMalformed},
		{"too-large", good + "." + strings.Repeat("A", MaxTokenSize), ErrMalformed},
		{"oversized-header", enc.EncodeToString([]byte(`{"alg":"HS256","kid":"k1","x":"`+strings.Repeat("a", 1100)+`"}`)) + "." + p + "." + s, ErrMalformed},
		{"header-bad-base64", "A." + p + "." + s, ErrMalformed},
		{"header-not-json", signed(`alg=HS256`, goodClaims()), ErrMalformed},
		{"header-array", signed(`["HS256"]`, goodClaims()), ErrMalformed},
		{"header-no-kid", signed(`{"alg":"HS256","typ":"JWT"}`, goodClaims()), ErrMalformed},
		{"header-no-alg", signed(`{"typ":"JWT","kid":"k1"}`, goodClaims()), ErrMalformed},
		{"header-dup-alg", signed(`{"alg":"none","alg":"HS256","kid":"k1"}`, goodClaims()), ErrMalformed},
		{"header-dup-alg-escaped", signed(`{"alg":"HS256","\u0061lg":"none","kid":"k1"}`, goodClaims()), ErrMalformed},
		{"header-crit", signed(`{"alg":"HS256","kid":"k1","crit":["exp"],"exp":1}`, goodClaims()), ErrMalformed},
		{"header-typ-jose", signed(`{"alg":"HS256","typ":"JOSE","kid":"k1"}`, goodClaims()), ErrMalformed},
		{"header-kid-number", signed(`{"alg":"HS256","kid":1}`, goodClaims()), ErrMalformed},
		{"header-trailing", signed(goodHeader+`{}`, goodClaims()), ErrMalformed},
		{"header-trailing-comma", signed(`{"alg":"HS256","kid":"k1",}`, goodClaims()), ErrMalformed},
		{"claims-not-json", signed(goodHeader, `{"exp":`), ErrMalformed},
		{"claims-array", signed(goodHeader, `[1]`), ErrMalformed},
		{"claims-no-exp", signed(goodHeader, `{"iss":"attestd","aud":"acme"}`), ErrMalformed},
		{"claims-exp-float", signed(goodHeader, `{"iss":"attestd","aud":"acme","exp":1760000300.5}`), ErrMalformed},
		{"claims-exp-exponent", signed(goodHeader, `{"iss":"attestd","aud":"acme","exp":1.76e9}`), ErrMalformed},
		{"claims-exp-string", signed(goodHeader, `{"iss":"attestd","aud":"acme","exp":"1760000300"}`), ErrMalformed},
		{"claims-exp-leading-zero", signed(goodHeader, `{"iss":"attestd","aud":"acme","exp":01760000300}`), ErrMalformed},
		{"claims-exp-overflow", signed(goodHeader, `{"iss":"attestd","aud":"acme","exp":9223372036854775808}`), ErrMalformed},
		{"claims-dup-exp", claimsWith(`,"exp":9999999999`), ErrMalformed},
		{"claims-dup-aud-escaped", claimsWith(`,"\u0061ud":"other"`), ErrMalformed},
		{"claims-aud-array", signed(goodHeader, `{"iss":"attestd","aud":["acme"],"exp":1760000300}`), ErrMalformed},
		{"claims-sub-null", claimsWith(`,"sub":null`), ErrMalformed},
		{"claims-mon-string", claimsWith(`,"mon":"true"`), ErrMalformed},
		{"claims-mon-number", claimsWith(`,"mon":1`), ErrMalformed},
		{"claims-mon-null", claimsWith(`,"mon":null`), ErrMalformed},
		{"claims-dup-mon", claimsWith(`,"mon":false,"mon":true`), ErrMalformed},
		{"claims-dbg-number", claimsWith(`,"dbg":7`), ErrMalformed},
		{"claims-dup-dbg", claimsWith(`,"dbg":"a","d\u0062g":"b"`), ErrMalformed},
		{"claims-invalid-utf8", claimsWith(`,"jti":"a` + "\xff" + `"`), ErrMalformed},
		{"claims-lone-surrogate", claimsWith(`,"jti":"\ud800"`), ErrMalformed},
		{"claims-lone-surrogate-skipped", claimsWith(`,"x":[{"y":"\ud800\u0041"}]`), ErrMalformed},
		{"claims-lone-surrogate-name", claimsWith(`,"\udc00":1`), ErrMalformed},
		{"claims-invalid-utf8-skipped", claimsWith(`,"x":{"a` + "\xc3" + `":1}`), ErrMalformed},
		{"header-lone-surrogate-skipped", signed(`{"alg":"HS256","kid":"k1","x":"\udbff"}`, goodClaims()), ErrMalformed},
		{"claims-control-char", claimsWith(`,"jti":"a` + "\n" + `"`), ErrMalformed},
		{"claims-bad-escape", claimsWith(`,"jti":"\x"`), ErrMalformed},
		{"claims-too-deep", claimsWith(`,"x":` + strings.Repeat("[", 40) + strings.Repeat("]", 40)), ErrMalformed},
		{"claims-trailing", signed(goodHeader, goodClaims()+`x`), ErrMalformed},
		{"unknown-kid", signed(`{"alg":"HS256","kid":"k2"}`, goodClaims()), ErrUnknownKey},
		{"kid-case", signed(`{"alg":"HS256","kid":"K1"}`, goodClaims()), ErrUnknownKey},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var v Verified
			wantErr(t, ks.Verify([]byte(tc.tok), opts(), &v), tc.want)
		})
	}
}

// TestVerifyAccepts: JSON this package reads although the edge never mints it.
func TestVerifyAccepts(t *testing.T) {
	key, ks := hsFixture(t)
	cases := map[string]struct{ header, claims, sub string }{
		"whitespace":      {" {\"alg\" : \"HS256\",\n\"kid\":\"k1\"} ", " {\"exp\" : 1760000300 , \"aud\":\"acme\",\"iss\":\"attestd\", \"sub\":\"a\"}\n", "a"},
		"typ-lowercase":   {`{"alg":"HS256","typ":"jwt","kid":"k1"}`, goodClaims(), "app"},
		"unknown-members": {`{"alg":"HS256","kid":"k1","x5t":"abc","n":[1,{"a":null}]}`, `{"exp":1760000300,"aud":"acme","iss":"attestd","foo":{"bar":[true,false,-1.5e3]},"sub":"b"}`, "b"},
		"escaped-names":   {`{"\u0061lg":"HS256","kid":"\u006b1"}`, `{"exp":1760000300,"aud":"ac\u006de","iss":"attestd","sub":"\ud83d\ude00\/\""}`, "😀/\""},
		"no-iat":          {goodHeader, `{"exp":1760000300,"aud":"acme","iss":"attestd","sub":"c"}`, "c"},
		"negative-iat":    {goodHeader, `{"iat":-5,"exp":1760000300,"aud":"acme","iss":"attestd","sub":"d"}`, "d"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			var v Verified
			if err := ks.Verify(craftHS256(key, tc.header, tc.claims), opts(), &v); err != nil {
				t.Fatal(err)
			}
			if string(v.Subject) != tc.sub {
				t.Fatalf("sub = %q, want %q", v.Subject, tc.sub)
			}
		})
	}
}

func TestVerifyString(t *testing.T) {
	key, ks := hsFixture(t)
	tok := string(craftHS256(key, goodHeader, goodClaims()))
	var v Verified
	if err := ks.VerifyString(tok, opts(), &v); err != nil || string(v.Subject) != "app" {
		t.Fatalf("VerifyString = %v, sub %q", err, v.Subject)
	}
}

// TestVerifiedReuse: a Verified reused for a shorter token holds only the
// new token's claims, and Claims copies survive reuse.
func TestVerifiedReuse(t *testing.T) {
	key, ks := hsFixture(t)
	long := craftHS256(key, goodHeader, `{"exp":1760000300,"aud":"acme","iss":"attestd","sub":"long-subject","arc":"x"}`)
	short := craftHS256(key, goodHeader, `{"exp":1760000300,"aud":"acme","iss":"attestd","sub":"s"}`)
	var v Verified
	if err := ks.Verify(long, opts(), &v); err != nil {
		t.Fatal(err)
	}
	kept := v.Claims()
	if err := ks.Verify(short, opts(), &v); err != nil {
		t.Fatal(err)
	}
	if string(v.Subject) != "s" || v.HasAnnotation || v.Annotation != nil {
		t.Fatalf("reused Verified: sub %q, arc %v %q", v.Subject, v.HasAnnotation, v.Annotation)
	}
	if kept.Subject != "long-subject" || kept.Annotation == nil || *kept.Annotation != "x" {
		t.Fatalf("copied claims changed: %+v", kept)
	}
}

func TestNilAndEmptyKeySet(t *testing.T) {
	key, _ := hsFixture(t)
	tok := craftHS256(key, goodHeader, goodClaims())
	var v Verified
	wantErr(t, (*KeySet)(nil).Verify(tok, opts(), &v), ErrUnknownKey)
	wantErr(t, keySet(t).Verify(tok, opts(), &v), ErrUnknownKey)
}

func TestNewKeySet(t *testing.T) {
	a := newSigner(t, "a", HS256).Verifier()
	a2 := newSigner(t, "a", EdDSA).Verifier()
	b := newSigner(t, "b", ES256).Verifier()
	if _, err := NewKeySet(a, a2); !errors.Is(err, ErrKey) {
		t.Fatalf("duplicate kid: %v", err)
	}
	if _, err := NewKeySet(a, VerifyKey{}); !errors.Is(err, ErrKey) {
		t.Fatalf("zero key: %v", err)
	}
	ks := keySet(t, a, b)
	if k, ok := ks.Lookup("b"); !ok || k.Alg() != ES256 {
		t.Fatalf("Lookup(b) = %v %v", k.Alg(), ok)
	}
	if _, ok := ks.Lookup("c"); ok {
		t.Fatal("Lookup(c) found a key")
	}
	if got := ks.Keys(); len(got) != 2 || got[0].KID() != "a" {
		t.Fatalf("Keys = %d", len(got))
	}
}

func TestNewPublicKeyRefuses(t *testing.T) {
	es := newSigner(t, "es", ES256).Verifier().Public()
	ed := newSigner(t, "ed", EdDSA).Verifier().Public()
	for name, tc := range map[string]struct {
		alg Alg
		pub any
	}{
		"es256-with-ed25519": {ES256, ed},
		"eddsa-with-ecdsa":   {EdDSA, es},
		"hs256":              {HS256, es},
		"nil":                {ES256, nil},
		"short-ed25519":      {EdDSA, ed.(ed25519.PublicKey)[:31]},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := NewPublicKey("k", tc.alg, tc.pub); !errors.Is(err, ErrKey) {
				t.Fatalf("err = %v, want ErrKey", err)
			}
		})
	}
}
