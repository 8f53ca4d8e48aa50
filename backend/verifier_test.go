package backend

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/attestd/attestd/crypto/token"
)

func TestNewConfig(t *testing.T) {
	hs := hsSigner(t, "k1")
	keys := []token.VerifyKey{hs.Verifier()}
	cases := map[string]Config{
		"no-audience":      {Keys: keys},
		"no-keys":          {Audience: "acme"},
		"http-jwks":        {Audience: "acme", JWKSURL: "http://edge.example.com/v1/accounts/acme/jwks.json"},
		"jwks-no-host":     {Audience: "acme", JWKSURL: "https:///jwks.json"},
		"jwks-bad-url":     {Audience: "acme", JWKSURL: "://"},
		"duplicate-kids":   {Audience: "acme", Keys: []token.VerifyKey{hs.Verifier(), hsSigner(t, "k1").Verifier()}},
		"zero-key":         {Audience: "acme", Keys: []token.VerifyKey{{}}},
		"jwks-file-scheme": {Audience: "acme", JWKSURL: "file:///etc/jwks.json"},
	}
	for name, cfg := range cases {
		t.Run(name, func(t *testing.T) {
			if _, err := New(cfg); !errors.Is(err, ErrConfig) {
				t.Fatalf("New = %v, want ErrConfig", err)
			}
		})
	}
	for _, u := range []string{"https://edge.example.com/v1/accounts/acme/jwks.json", "http://127.0.0.1:8080/j", "http://[::1]/j", "http://localhost/j"} {
		if _, err := New(Config{Audience: "acme", JWKSURL: u}); err != nil {
			t.Errorf("New(%s) = %v", u, err)
		}
	}
}

// TestVerify runs the checks of PROTOCOL.md §3 through a Verifier with
// static keys and the default leeway (30 s).
func TestVerify(t *testing.T) {
	clk := newClock()
	hs, es := hsSigner(t, "hs-1"), esSigner(t, "es-1")
	decoy, _ := hs.Decoy()
	v := newVerifier(t, Config{Keys: []token.VerifyKey{hs.Verifier(), pub(t, es)}, Audience: "acme", Now: clk.Now})
	strict := newVerifier(t, Config{Keys: []token.VerifyKey{hs.Verifier()}, Audience: "acme", Now: clk.Now, RequireBinding: true})
	now := clk.Now()
	auth := []byte("Bearer user-session-token")
	with := func(edit func(*token.Claims)) token.Claims { c := claimsAt(now); edit(&c); return c }
	bound := with(func(c *token.Claims) { c.Payload = token.BindingHash(auth) })
	cases := []struct {
		name    string
		v       *Verifier
		tok     string
		binding []byte
		want    error
	}{
		{"ok/hs256", v, mint(t, hs, claimsAt(now)), nil, nil},
		{"ok/es256", v, mint(t, es, claimsAt(now)), nil, nil},
		{"ok/unbound-with-value", v, mint(t, hs, claimsAt(now)), auth, nil},
		{"ok/bound", v, mint(t, hs, bound), auth, nil},
		{"ok/expired-within-leeway", v, mint(t, hs, with(func(c *token.Claims) { c.ExpiresAt = now.Unix() - 29 })), nil, nil},
		{"fail/expired-beyond-leeway", v, mint(t, hs, with(func(c *token.Claims) { c.ExpiresAt = now.Unix() - 30 })), nil, token.ErrExpired},
		{"fail/issued-in-future", v, mint(t, hs, with(func(c *token.Claims) { c.IssuedAt = now.Unix() + 60 })), nil, token.ErrNotYetValid},
		{"fail/other-account", v, mint(t, hs, with(func(c *token.Claims) { c.Audience = "other" })), nil, token.ErrAudience},
		{"fail/aud-unknown", v, mint(t, hs, with(func(c *token.Claims) { c.Audience = "unknown" })), nil, token.ErrAudience},
		{"fail/other-issuer", v, mint(t, hs, with(func(c *token.Claims) { c.Issuer = "other" })), nil, token.ErrIssuer},
		{"fail/decoy", v, mint(t, decoy, claimsAt(now)), nil, token.ErrSignature},
		{"fail/unknown-kid", v, mint(t, hsSigner(t, "hs-2"), claimsAt(now)), nil, token.ErrUnknownKey},
		{"fail/garbage", v, "not-a-token", nil, token.ErrMalformed},
		{"fail/bound-no-value", v, mint(t, hs, bound), nil, token.ErrBinding},
		{"fail/bound-other-value", v, mint(t, hs, bound), []byte("Bearer other"), token.ErrBinding},
		{"fail/bound-empty-value", v, mint(t, hs, bound), []byte{}, token.ErrBinding},
		{"fail/require-binding-unbound", strict, mint(t, hs, claimsAt(now)), auth, token.ErrBinding},
		{"ok/require-binding-bound", strict, mint(t, hs, bound), auth, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := tc.v.Verify(context.Background(), tc.tok, tc.binding)
			if tc.want != nil {
				if !errors.Is(err, tc.want) {
					t.Fatalf("err = %v, want %v", err, tc.want)
				}
				if c != (token.Claims{}) {
					t.Fatalf("claims returned with an error: %+v", c)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.Subject != "com.example.shop" || c.Audience != "acme" || c.ID != "jti-1" {
				t.Fatalf("claims %+v", c)
			}
		})
	}
}

func TestVerifyLeewayConfig(t *testing.T) {
	clk := newClock()
	hs := hsSigner(t, "hs-1")
	c := claimsAt(clk.Now())
	c.ExpiresAt = clk.Now().Unix() - 5
	tok := mint(t, hs, c)
	for _, tc := range []struct {
		leeway time.Duration
		want   error
	}{{0, nil}, {-1, token.ErrExpired}, {4 * time.Second, token.ErrExpired}, {6 * time.Second, nil}} {
		v := newVerifier(t, Config{Keys: []token.VerifyKey{hs.Verifier()}, Audience: "acme", Now: clk.Now, Leeway: tc.leeway})
		if _, err := v.Verify(context.Background(), tok, nil); !errors.Is(err, tc.want) && (err != nil || tc.want != nil) {
			t.Errorf("leeway %v: err = %v, want %v", tc.leeway, err, tc.want)
		}
	}
}

func TestVerifyCustomIssuer(t *testing.T) {
	clk := newClock()
	hs := hsSigner(t, "hs-1")
	c := claimsAt(clk.Now())
	c.Issuer = "edge.eu"
	v := newVerifier(t, Config{Keys: []token.VerifyKey{hs.Verifier()}, Audience: "acme", Issuer: "edge.eu", Now: clk.Now})
	if _, err := v.Verify(context.Background(), mint(t, hs, c), nil); err != nil {
		t.Fatal(err)
	}
	c.Issuer = "attestd"
	if _, err := v.Verify(context.Background(), mint(t, hs, c), nil); !errors.Is(err, token.ErrIssuer) {
		t.Fatalf("err = %v, want ErrIssuer", err)
	}
}

// TestVerifyIntoAllocs: the HS256 path of VerifyInto does not allocate.
func TestVerifyIntoAllocs(t *testing.T) {
	skipIfRace(t)
	clk := newClock()
	hs := hsSigner(t, "hs-1")
	v := newVerifier(t, Config{Keys: []token.VerifyKey{hs.Verifier()}, Audience: "acme", Now: clk.Now})
	auth := []byte("Bearer abc")
	c := claimsAt(clk.Now())
	c.Payload = token.BindingHash(auth)
	tok := []byte(mint(t, hs, c))
	var out token.Verified
	ctx := context.Background()
	if err := v.VerifyInto(ctx, tok, auth, &out); err != nil {
		t.Fatal(err)
	}
	if n := testing.AllocsPerRun(200, func() {
		if err := v.VerifyInto(ctx, tok, auth, &out); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Fatalf("VerifyInto HS256: %v allocs per op, want 0", n)
	}
}
