package httpsig

import (
	"crypto/ecdsa"
	"encoding/base64"
	"errors"
	"math/big"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Each attack on a request signature, against PROTOCOL.md §12's profile:
// the genuine request passes, and every change an attacker can make to
// what is signed, or to the signature fields, is refused with its class.

var body = []byte(`{"amount":42}`)

func TestRequestSignatureGenuinePasses(t *testing.T) {
	key := newKey(t)
	var sc Scratch
	for name, s := range map[string]*signed{
		"query-and-body": newSigned(t, key, testNow.Unix(), "x=1&y=%20", body),
		"bare-get":       newSigned(t, key, testNow.Unix(), "", nil),
		"edge-of-window": newSigned(t, key, testNow.Unix()-60, "", nil),
		"future-in-skew": newSigned(t, key, testNow.Unix()+60, "", nil),
	} {
		t.Run(name, func(t *testing.T) {
			if name == "bare-get" {
				s.req.Method = "GET"
				s = newSignedFrom(t, key, s)
			}
			c, err := s.verify(&sc, key, testNow)
			if err != nil {
				t.Fatal(err)
			}
			if c.Until.Unix() != c.Created+61 {
				t.Errorf("Until %d for created %d", c.Until.Unix(), c.Created)
			}
		})
	}
}

// newSignedFrom signs s.req again (after a change to it) at its created.
func newSignedFrom(t *testing.T, key *ecdsa.PrivateKey, s *signed) *signed {
	t.Helper()
	c := s.clone()
	in, sig, err := SignRequest(&c.req, len(c.body) > 0, key, testNow.Unix())
	if err != nil {
		t.Fatal(err)
	}
	c.req.Header.Set("Signature-Input", Label+"="+in)
	c.req.Header.Set("Signature", Label+"="+sig)
	return c
}

func TestRequestSignatureCoveredComponentChangedIsRefused(t *testing.T) {
	key := newKey(t)
	genuine := newSigned(t, key, testNow.Unix(), "x=1", body)
	var sc Scratch
	for name, change := range map[string]func(s *signed){
		"method":            func(s *signed) { s.req.Method = "PUT" },
		"authority":         func(s *signed) { s.req.Authority = "attacker.example" },
		"authority-port":    func(s *signed) { s.req.Authority = "edge.example:8443" },
		"path":              func(s *signed) { s.req.Path = "/v1/proxy/api/admin" },
		"path-encoding":     func(s *signed) { s.req.Path = "/v1/proxy/api/%69tems" },
		"query":             func(s *signed) { s.req.Query = "x=2" },
		"query-appended":    func(s *signed) { s.req.Query = "x=1&admin=1" },
		"attest-token":      func(s *signed) { s.req.Header.Set("Attest-Token", testToken+"x") },
		"second-token-line": func(s *signed) { s.req.Header.Add("Attest-Token", testToken) },
		"digest-changed": func(s *signed) {
			s.body = []byte(`{"amount":4200}`)
			s.req.Header.Set("Content-Digest", string(AppendContentDigest(nil, s.body)))
		},
	} {
		t.Run(name, func(t *testing.T) {
			s := genuine.clone()
			change(s)
			if _, err := s.verify(&sc, key, testNow); !errors.Is(err, ErrSignature) {
				t.Fatalf("%v, want ErrSignature", err)
			}
		})
	}
}

func TestRequestSignatureBodyChangedDigestKeptIsRefused(t *testing.T) {
	key := newKey(t)
	s := newSigned(t, key, testNow.Unix(), "", body)
	s.body = []byte(`{"amount":4200}`)
	var sc Scratch
	if _, err := s.verify(&sc, key, testNow); !errors.Is(err, ErrDigest) {
		t.Fatalf("%v, want ErrDigest", err)
	}
	t.Run("body-dropped", func(t *testing.T) {
		s := newSigned(t, key, testNow.Unix(), "", body)
		s.body = nil // content-digest is covered: the empty body must match it
		if _, err := s.verify(&sc, key, testNow); !errors.Is(err, ErrDigest) {
			t.Fatalf("%v, want ErrDigest", err)
		}
	})
	t.Run("body-added-to-a-bodiless-signature", func(t *testing.T) {
		s := newSigned(t, key, testNow.Unix(), "", nil)
		s.body = body
		if _, err := s.verify(&sc, key, testNow); !errors.Is(err, ErrComponents) {
			t.Fatalf("%v, want ErrComponents", err)
		}
	})
}

func TestRequestSignatureDigestTampering(t *testing.T) {
	key := newKey(t)
	var sc Scratch
	sum := sha512Sum(body)
	for name, digest := range map[string]string{
		"wrong-sha-512-beside-right-sha-256": string(AppendContentDigest(nil, body)) + ", sha-512=:" + base64.StdEncoding.EncodeToString(sha512Sum([]byte("x"))) + ":",
		"only-sha-512":                       "sha-512=:" + base64.StdEncoding.EncodeToString(sum) + ":",
		"sha-256-as-a-string":                `sha-256="abc"`,
		"sha-256-truncated":                  "sha-256=:" + base64.StdEncoding.EncodeToString(sum[:31]) + ":",
		"duplicate-sha-256":                  string(AppendContentDigest(nil, body)) + ", " + string(AppendContentDigest(nil, []byte("x"))),
		"not-a-dictionary":                   "sha-256",
	} {
		t.Run(name, func(t *testing.T) {
			s := &signed{req: Request{Method: "POST", Authority: "edge.example", Path: "/p",
				Header: map[string][]string{"Attest-Token": {testToken}, "Content-Digest": {digest}}}, body: body}
			in, sig, err := SignRequest(&s.req, true, key, testNow.Unix())
			if err != nil {
				t.Fatal(err)
			}
			s.req.Header.Set("Signature-Input", "att="+in)
			s.req.Header.Set("Signature", "att="+sig)
			if _, err := s.verify(&sc, key, testNow); !errors.Is(err, ErrDigest) {
				t.Fatalf("%v, want ErrDigest", err)
			}
		})
	}
}

func TestRequestSignatureCreatedOutsideWindowIsRefused(t *testing.T) {
	key := newKey(t)
	var sc Scratch
	for name, created := range map[string]int64{
		"stale":      testNow.Unix() - 61,
		"future":     testNow.Unix() + 61,
		"epoch":      0,
		"far-future": 1 << 40,
		"negative":   -1_000_000,
	} {
		t.Run(name, func(t *testing.T) {
			s := newSigned(t, key, created, "", nil)
			if _, err := s.verify(&sc, key, testNow); !errors.Is(err, ErrTime) {
				t.Fatalf("%v, want ErrTime", err)
			}
		})
	}
	t.Run("configured-window", func(t *testing.T) {
		s := newSigned(t, key, testNow.Unix()-20, "", nil)
		if _, err := sc.VerifyRequest(&s.req, point(key), nil, testNow, 10*time.Second); !errors.Is(err, ErrTime) {
			t.Fatalf("20 s old with a 10 s window: %v", err)
		}
		if _, err := sc.VerifyRequest(&s.req, point(key), nil, testNow, 30*time.Second); err != nil {
			t.Fatalf("20 s old with a 30 s window: %v", err)
		}
	})
}

func TestRequestSignatureByAnotherKeyIsRefused(t *testing.T) {
	victim, thief := newKey(t), newKey(t)
	var sc Scratch
	t.Run("thief-signs-as-himself", func(t *testing.T) {
		s := newSigned(t, thief, testNow.Unix(), "", nil)
		if _, err := s.verify(&sc, victim, testNow); !errors.Is(err, ErrKeyID) {
			t.Fatalf("%v, want ErrKeyID", err)
		}
	})
	t.Run("thief-claims-the-victims-keyid", func(t *testing.T) {
		s := newSigned(t, thief, testNow.Unix(), "", nil)
		comps := RequiredComponents(false, false)
		in, sig, err := Sign(&s.req, comps, Params{Created: testNow.Unix(), KeyID: string(DID(nil, point(victim))), Alg: Alg}, thief)
		if err != nil {
			t.Fatal(err)
		}
		s.req.Header.Set("Signature-Input", "att="+in)
		s.req.Header.Set("Signature", "att="+sig)
		if _, err := s.verify(&sc, victim, testNow); !errors.Is(err, ErrSignature) {
			t.Fatalf("%v, want ErrSignature", err)
		}
	})
	t.Run("keyid-of-another-device", func(t *testing.T) {
		s := newSigned(t, victim, testNow.Unix(), "", nil)
		in := strings.Replace(s.req.Header.Get("Signature-Input"), string(DID(nil, point(victim))), string(DID(nil, point(thief))), 1)
		s.req.Header.Set("Signature-Input", in)
		if _, err := s.verify(&sc, victim, testNow); !errors.Is(err, ErrKeyID) {
			t.Fatalf("%v, want ErrKeyID", err)
		}
	})
	t.Run("token-key-not-on-the-curve", func(t *testing.T) {
		s := newSigned(t, victim, testNow.Unix(), "", nil)
		p := point(victim)
		p[64] ^= 1
		// keyid is the victim's did, which is not the did of p: ErrKeyID
		// comes first; with the did of p, the point is refused.
		in := strings.Replace(s.req.Header.Get("Signature-Input"), string(DID(nil, point(victim))), string(DID(nil, p)), 1)
		s.req.Header.Set("Signature-Input", in)
		if _, err := sc.VerifyRequest(&s.req, p, nil, testNow, 0); !errors.Is(err, ErrKey) {
			t.Fatalf("%v, want ErrKey", err)
		}
	})
}

func TestRequestSignatureComponentLeftOutIsRefused(t *testing.T) {
	key := newKey(t)
	var sc Scratch
	for _, drop := range []string{"@method", "@authority", "@path", "@query", "attest-token", "content-digest"} {
		t.Run(drop, func(t *testing.T) {
			s := newSigned(t, key, testNow.Unix(), "x=1", body)
			var comps []string
			for _, c := range RequiredComponents(true, true) {
				if c != drop {
					comps = append(comps, c)
				}
			}
			in, sig, err := Sign(&s.req, comps, Params{Created: testNow.Unix(), KeyID: string(DID(nil, point(key))), Alg: Alg}, key)
			if err != nil {
				t.Fatal(err)
			}
			s.req.Header.Set("Signature-Input", "att="+in)
			s.req.Header.Set("Signature", "att="+sig)
			if _, err := s.verify(&sc, key, testNow); !errors.Is(err, ErrComponents) {
				t.Fatalf("%v, want ErrComponents", err)
			}
		})
	}
	t.Run("extra-components-are-fine", func(t *testing.T) {
		s := newSigned(t, key, testNow.Unix(), "", nil)
		comps := append(RequiredComponents(false, false), "content-type", "@query")
		in, sig, err := Sign(&s.req, comps, Params{Created: testNow.Unix(), KeyID: string(DID(nil, point(key)))}, key)
		if err != nil {
			t.Fatal(err)
		}
		s.req.Header.Set("Signature-Input", "att="+in)
		s.req.Header.Set("Signature", "att="+sig)
		if _, err := s.verify(&sc, key, testNow); err != nil {
			t.Fatalf("more components than required, no alg: %v", err)
		}
	})
	t.Run("covered-field-absent", func(t *testing.T) {
		s := newSigned(t, key, testNow.Unix(), "", nil)
		comps := append(RequiredComponents(false, false), "x-absent")
		s.req.Header.Set("X-Absent", "here at signing")
		in, sig, err := Sign(&s.req, comps, Params{Created: testNow.Unix(), KeyID: string(DID(nil, point(key)))}, key)
		if err != nil {
			t.Fatal(err)
		}
		s.req.Header.Del("X-Absent")
		s.req.Header.Set("Signature-Input", "att="+in)
		s.req.Header.Set("Signature", "att="+sig)
		if _, err := s.verify(&sc, key, testNow); !errors.Is(err, ErrComponents) {
			t.Fatalf("%v, want ErrComponents", err)
		}
	})
}

// TestRequestSignatureFieldsTampering: what the attacker can write in the
// signature fields themselves.
func TestRequestSignatureFieldsTampering(t *testing.T) {
	key := newKey(t)
	genuine := newSigned(t, key, testNow.Unix(), "", nil)
	in := genuine.req.Header.Get("Signature-Input")
	sig := genuine.req.Header.Get("Signature")
	did := string(DID(nil, point(key)))
	comps := `("@method" "@authority" "@path" "attest-token")`
	created := ";created=" + strconv.FormatInt(testNow.Unix(), 10)
	short := "att=:" + base64.StdEncoding.EncodeToString(make([]byte, 63)) + ":"
	long := "att=:" + base64.StdEncoding.EncodeToString(make([]byte, 65)) + ":"
	cases := []struct {
		name, input, sig string
		want             error
	}{
		{"missing-label", strings.Replace(in, "att=", "sig1=", 1), sig, ErrMissing},
		{"missing-signature-member", in, strings.Replace(sig, "att=", "sig1=", 1), ErrMissing},
		{"no-signature-input", "", sig, ErrMissing},
		{"no-signature", in, "", ErrMissing},
		{"duplicate-label", in + ", " + in, sig, ErrMalformed},
		{"duplicate-signature-label", in, sig + ", " + sig, ErrMalformed},
		{"duplicate-created", strings.Replace(in, ";keyid", created+";keyid", 1), sig, ErrMalformed},
		{"duplicate-keyid", in + `;keyid="` + did + `"`, sig, ErrMalformed},
		{"duplicate-component", `att=("@method" "@method" "@authority" "@path" "attest-token")` + created + `;keyid="` + did + `"`, sig, ErrMalformed},
		{"signature-params-covered", `att=("@method" "@authority" "@path" "attest-token" "@signature-params")` + created + `;keyid="` + did + `"`, sig, ErrMalformed},
		{"component-with-parameters", `att=("@method";req "@authority" "@path" "attest-token")` + created + `;keyid="` + did + `"`, sig, ErrMalformed},
		{"component-as-token", `att=(@method "@authority" "@path" "attest-token")` + created, sig, ErrMalformed},
		{"unknown-parameter", in + `;context="x"`, sig, ErrMalformed},
		{"created-as-string", "att=" + comps + `;created="1";keyid="` + did + `"`, sig, ErrMalformed},
		{"created-as-decimal", "att=" + comps + `;created=1760000000.5;keyid="` + did + `"`, sig, ErrMalformed},
		{"created-16-digits", "att=" + comps + `;created=1234567890123456;keyid="` + did + `"`, sig, ErrMalformed},
		{"no-created", "att=" + comps + `;keyid="` + did + `"`, sig, ErrTime},
		{"no-keyid", "att=" + comps + created, sig, ErrKeyID},
		{"escaped-keyid", "att=" + comps + created + `;keyid="\"` + did + `"`, sig, ErrKeyID},
		{"alg-rsa", strings.Replace(in, Alg, "rsa-pss-sha512", 1), sig, ErrAlgorithm},
		{"alg-hmac", strings.Replace(in, Alg, "hmac-sha256", 1), sig, ErrAlgorithm},
		{"alg-jose-name", strings.Replace(in, Alg, "ES256", 1), sig, ErrAlgorithm},
		{"alg-case", strings.Replace(in, Alg, "ECDSA-P256-SHA256", 1), sig, ErrAlgorithm},
		{"signature-63-bytes", in, short, ErrMalformed},
		{"signature-65-bytes", in, long, ErrMalformed},
		{"signature-empty", in, "att=::", ErrMalformed},
		{"signature-as-string", in, `att="` + strings.TrimSuffix(strings.TrimPrefix(sig, "att=:"), ":") + `"`, ErrMalformed},
		{"signature-with-parameters", in, sig + ";x=1", ErrMalformed},
		{"signature-inner-list", in, "att=(" + strings.TrimPrefix(sig, "att=") + ")", ErrMalformed},
		{"signature-input-as-item", `att="@method"`, sig, ErrMalformed},
		{"trailing-comma", in + ",", sig, ErrMalformed},
		{"huge-signature-input", in + ", " + strings.Repeat("x", MaxFieldSize), sig, ErrMalformed},
		{"too-many-members", in + strings.Repeat(", a=1", MaxMembers), sig, ErrMalformed},
		{"too-many-components", "att=(" + strings.Repeat(`"a" `, MaxComponents+1) + ")" + created, sig, ErrMalformed},
		{"too-many-params", in + strings.Repeat(";nonce=\"a\"", 1) + strings.Repeat(";tag=\"a\"", 1) + ";expires=1;a=1;b=1;c=1;d=1", sig, ErrMalformed},
		{"expired", "att=" + comps + ";created=" + strconv.FormatInt(testNow.Unix()-30, 10) + `;keyid="` + did + `";expires=` + strconv.FormatInt(testNow.Unix()-1, 10), sig, ErrTime},
		{"expires-before-created", in + ";expires=" + strconv.FormatInt(testNow.Unix()-1, 10), sig, ErrTime},
	}
	var sc Scratch
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := genuine.clone()
			s.req.Header.Del("Signature-Input")
			s.req.Header.Del("Signature")
			if tc.input != "" {
				s.req.Header.Set("Signature-Input", tc.input)
			}
			if tc.sig != "" {
				s.req.Header.Set("Signature", tc.sig)
			}
			if _, err := s.verify(&sc, key, testNow); !errors.Is(err, tc.want) {
				t.Fatalf("%v, want %v", err, tc.want)
			}
		})
	}
}

// TestRequestSignatureOtherLabelsAndLinesAreFine: a second signature of
// another party beside att, fields split over several lines, and an
// unpadded byte sequence verify.
func TestRequestSignatureOtherLabelsAndLinesAreFine(t *testing.T) {
	key := newKey(t)
	s := newSigned(t, key, testNow.Unix(), "", body)
	in, sig := s.req.Header.Get("Signature-Input"), s.req.Header.Get("Signature")
	s.req.Header["Signature-Input"] = []string{`sig1=("@method");created=1`, in}
	s.req.Header["Signature"] = []string{"sig1=:AAAA:", strings.TrimSuffix(sig, "==:") + ":"}
	var sc Scratch
	if _, err := s.verify(&sc, key, testNow); err != nil {
		t.Fatal(err)
	}
}

// TestMalleatedSignatureHasTheSameID: (r, n-s) verifies as well as (r, s);
// a replay cache keyed by the ID sees it as the same signature.
func TestMalleatedSignatureHasTheSameID(t *testing.T) {
	key := newKey(t)
	s := newSigned(t, key, testNow.Unix(), "", nil)
	var sc Scratch
	c1, err := s.verify(&sc, key, testNow)
	if err != nil {
		t.Fatal(err)
	}
	var raw [SigSize]byte
	enc := strings.TrimSuffix(strings.TrimPrefix(s.req.Header.Get("Signature"), "att=:"), ":")
	if !decodeBinary(raw[:], []byte(enc)) {
		t.Fatal("bad signature encoding")
	}
	n := elliptic256N()
	ns := new(big.Int).Sub(n, new(big.Int).SetBytes(raw[32:]))
	ns.FillBytes(raw[32:])
	m := s.clone()
	m.req.Header.Set("Signature", "att=:"+base64.StdEncoding.EncodeToString(raw[:])+":")
	c2, err := m.verify(&sc, key, testNow)
	if err != nil {
		t.Fatalf("the malleated signature does not verify (so the test proves nothing): %v", err)
	}
	if c1.ID != c2.ID {
		t.Fatal("a signature and its malleated twin have different IDs")
	}
	other := newSigned(t, key, testNow.Unix(), "", nil)
	c3, err := other.verify(&sc, key, testNow)
	if err != nil {
		t.Fatal(err)
	}
	if c3.ID == c1.ID {
		t.Fatal("two signatures of the same base have the same ID")
	}
}

func TestComponentValueWithControlCharacterIsRefused(t *testing.T) {
	key := newKey(t)
	s := newSigned(t, key, testNow.Unix(), "", nil)
	s.req.Header.Set("Attest-Token", "a\n\"@method\": GET")
	var sc Scratch
	if _, err := s.verify(&sc, key, testNow); !errors.Is(err, ErrComponents) {
		t.Fatalf("%v, want ErrComponents", err)
	}
	if _, _, err := SignRequest(&s.req, false, key, testNow.Unix()); !errors.Is(err, ErrComponents) {
		t.Fatalf("signing: %v, want ErrComponents", err)
	}
}

func TestRemoveMember(t *testing.T) {
	for in, want := range map[string]string{
		`att=("@method");created=1`:                           ``,
		`sig1=("@path");created=2, att=("@method");created=1`: `sig1=("@path");created=2`,
		`att=:AAAA:, sig1=:BBBB:;x=1, sig2`:                   `sig1=:BBBB:;x=1, sig2`,
	} {
		if got, ok := RemoveMember(in, Label); !ok || got != want {
			t.Errorf("RemoveMember(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
	for _, in := range []string{`sig1=:AAAA:`, `att=("unterminated`, ``} {
		if got, ok := RemoveMember(in, Label); ok || got != in {
			t.Errorf("RemoveMember(%q) = %q, %v; want it unchanged", in, got, ok)
		}
	}
}

// TestRequestSignatureInTwoSteps: VerifyRequestHeaders then CheckBody is
// VerifyRequest for a verifier that must not read the body of a request
// whose signature has not verified: the headers' step passes a genuine
// request and refuses a forged one without the body; the body's step then
// refuses a body other than the one signed, and a body the signature does
// not cover (a request of unknown length signed without content-digest).
func TestRequestSignatureInTwoSteps(t *testing.T) {
	key := newKey(t)
	var sc Scratch
	s := newSigned(t, key, testNow.Unix(), "", body)
	if _, err := sc.VerifyRequestHeaders(&s.req, point(key), true, testNow, 0); err != nil {
		t.Fatal(err)
	}
	if err := sc.CheckBody(&s.req, body); err != nil {
		t.Fatalf("the signed body: %v", err)
	}
	if err := sc.CheckBody(&s.req, []byte(`{"amount":4200}`)); !errors.Is(err, ErrDigest) {
		t.Errorf("another body: %v, want ErrDigest", err)
	}
	if _, err := sc.VerifyRequestHeaders(&s.req, point(newKey(t)), true, testNow, 0); !errors.Is(err, ErrKeyID) && !errors.Is(err, ErrSignature) {
		t.Errorf("another device's key: %v", err)
	}
	bare := newSigned(t, key, testNow.Unix(), "", nil)
	if _, err := sc.VerifyRequestHeaders(&bare.req, point(key), true, testNow, 0); !errors.Is(err, ErrComponents) {
		t.Errorf("a request declaring a body, signed without content-digest: %v, want ErrComponents", err)
	}
	if _, err := sc.VerifyRequestHeaders(&bare.req, point(key), false, testNow, 0); err != nil {
		t.Fatal(err)
	}
	if err := sc.CheckBody(&bare.req, body); !errors.Is(err, ErrComponents) {
		t.Errorf("a body the signature does not cover: %v, want ErrComponents", err)
	}
	if err := sc.CheckBody(&bare.req, nil); err != nil {
		t.Errorf("no body, none signed: %v", err)
	}
}
