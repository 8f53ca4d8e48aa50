package token

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/sha512"
	"crypto/x509"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/attestd/attestd/crypto/secret"
)

// fuzzSigners are fixed keys, so that the committed corpus holds tokens that
// verify: kids "hs", "es" and "ed".
func fuzzSigners(t testing.TB) map[string]*Signer {
	t.Helper()
	seed := bytes.Repeat([]byte{7}, 32)
	ec, err := ecdsa.ParseRawPrivateKey(elliptic.P256(), seed)
	if err != nil {
		t.Fatal(err)
	}
	ecDER, _ := x509.MarshalPKCS8PrivateKey(ec)
	edDER, _ := x509.MarshalPKCS8PrivateKey(ed25519.NewKeyFromSeed(seed))
	out := map[string]*Signer{}
	for kid, k := range map[string]struct {
		alg Alg
		key []byte
	}{"hs": {HS256, []byte("attestd fuzz key, 32 bytes long!")}, "es": {ES256, ecDER}, "ed": {EdDSA, edDER}} {
		s, err := NewSigner(kid, k.alg, secret.New(k.key))
		if err != nil {
			t.Fatal(err)
		}
		out[kid] = s
	}
	return out
}

var fuzzOpts = Options{Now: time.Unix(1_760_000_000, 0), Leeway: 30 * time.Second}

var sentinels = []error{ErrMalformed, ErrUnknownKey, ErrAlgorithm, ErrSignature, ErrExpired, ErrNotYetValid, ErrAudience, ErrIssuer}

// FuzzParse feeds arbitrary bytes to the token parser (Verify) and to the
// header and claims readers on their own. Properties: no panic; Verify does
// not modify its input and fails with one of its sentinels; a token that
// verifies re-mints to the same claims; whatever the JSON readers accept,
// encoding/json reads as the same values.
func FuzzParse(f *testing.F) {
	signers := fuzzSigners(f)
	c := Claims{Issuer: "attestd", Subject: "com.example.shop", Audience: "acme", IssuedAt: 1_760_000_000,
		ExpiresAt: 1_760_000_300, ID: "jti", Device: "did", Payload: BindingHash(nil), Annotation: strp("rooted")}
	for _, kid := range []string{"hs", "es", "ed"} {
		tok, _ := signers[kid].AppendMint(nil, &c)
		f.Add(tok)
	}
	f.Add([]byte(`{"alg":"HS256","typ":"JWT","kid":"hs"}`))
	f.Add([]byte(`{"iss":"a\u00e9\ud83d\ude00","exp":1,"arc":"","x":[{"y":-1.5e+3}]}`))
	f.Add([]byte(`{"exp":1,"mon":true,"arc":"rooted","dbg":"ci-runner"}`))
	f.Add([]byte(`{"exp":1,"mon":"true","dbg":7}`))
	c.Monitor, c.Debug = true, "ci-runner"
	monTok, _ := signers["hs"].AppendMint(nil, &c)
	f.Add(monTok)
	var ks *KeySet
	keys := make([]VerifyKey, 0, len(signers))
	for _, s := range signers {
		keys = append(keys, s.Verifier())
	}
	ks, err := NewKeySet(keys...)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, tok []byte) {
		orig := bytes.Clone(tok)
		var v Verified
		err := ks.Verify(tok, fuzzOpts, &v)
		if !bytes.Equal(tok, orig) {
			t.Fatal("Verify modified its input")
		}
		if err != nil {
			if !isSentinel(err) {
				t.Fatalf("error without a sentinel: %v", err)
			}
		} else {
			remintRoundTrip(t, signers[v.KID], ks, &v)
		}
		checkHeaderReader(t, tok)
		checkClaimsReader(t, tok)
	})
}

func isSentinel(err error) bool {
	for _, s := range sentinels {
		if errors.Is(err, s) {
			return true
		}
	}
	return false
}

func remintRoundTrip(t *testing.T, s *Signer, ks *KeySet, v *Verified) {
	c := v.Claims()
	tok, err := s.AppendMint(nil, &c)
	if err != nil {
		t.Fatalf("verified claims do not re-mint: %v", err)
	}
	var v2 Verified
	if err := ks.Verify(tok, fuzzOpts, &v2); err != nil {
		t.Fatalf("re-minted token does not verify: %v", err)
	}
	if !claimsEqual(v2.Claims(), c) {
		t.Fatalf("claims changed on re-mint: %+v vs %+v", v2.Claims(), c)
	}
}

func checkHeaderReader(t *testing.T, data []byte) {
	alg, kid, err := parseHeader(bytes.Clone(data))
	if err != nil {
		return
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatalf("parseHeader accepted what encoding/json refuses (%v): %q", err, data)
	}
	if m["alg"] != string(alg) || m["kid"] != string(kid) {
		t.Fatalf("parseHeader read alg %q kid %q; encoding/json %q %q", alg, kid, m["alg"], m["kid"])
	}
}

func checkClaimsReader(t *testing.T, data []byte) {
	v := Verified{buf: bytes.Clone(data)}
	if _, _, err := decodeClaims(&v); err != nil {
		return
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatalf("decodeClaims accepted what encoding/json refuses (%v): %q", err, data)
	}
	for name, got := range map[string][]byte{"iss": v.Issuer, "sub": v.Subject, "aud": v.Audience,
		"jti": v.ID, "did": v.Device, "pay": v.Payload, "arc": v.Annotation, "dbg": v.Debug} {
		raw, ok := m[name]
		if !ok {
			if got != nil {
				t.Fatalf("%s read as %q but absent", name, got)
			}
			continue
		}
		var want string
		if err := json.Unmarshal(raw, &want); err != nil || want != string(got) || !utf8.Valid(got) {
			t.Fatalf("%s: decodeClaims %q, encoding/json %q (%v)", name, got, want, err)
		}
	}
	if _, ok := m["arc"]; ok != v.HasAnnotation {
		t.Fatalf("arc present %v, HasAnnotation %v", ok, v.HasAnnotation)
	}
	if raw, ok := m["mon"]; ok {
		var want bool
		if err := json.Unmarshal(raw, &want); err != nil || want != v.Monitor {
			t.Fatalf("mon: decodeClaims %v, encoding/json %s (%v)", v.Monitor, raw, err)
		}
	} else if v.Monitor {
		t.Fatal("mon read as true but absent")
	}
	checkCnfReader(t, m["cnf"], v)
	for name, got := range map[string]int64{"iat": v.IssuedAt, "exp": v.ExpiresAt} {
		if raw, ok := m[name]; ok {
			if want, err := strconv.ParseInt(string(raw), 10, 64); err != nil || want != got {
				t.Fatalf("%s: decodeClaims %d, encoding/json %s", name, got, raw)
			}
		}
	}
}

// checkCnfReader: a cnf that decodeClaims read is, for encoding/json, an
// object {"jwk": {...}} whose x and y are the point it read; one it did
// not read is absent (decodeClaims fails on a cnf it cannot read).
func checkCnfReader(t *testing.T, raw json.RawMessage, v Verified) {
	if !v.HasConfirmation {
		if raw != nil {
			t.Fatalf("cnf %s present but not read", raw)
		}
		return
	}
	var cnf struct {
		JWK struct{ Kty, Crv, X, Y string } `json:"jwk"`
	}
	if err := json.Unmarshal(raw, &cnf); err != nil {
		t.Fatalf("cnf %s: %v", raw, err)
	}
	x, errX := b64.DecodeString(cnf.JWK.X)
	y, errY := b64.DecodeString(cnf.JWK.Y)
	if errX != nil || errY != nil || cnf.JWK.Kty != "EC" || cnf.JWK.Crv != "P-256" || v.Confirmation[0] != 4 ||
		!bytes.Equal(x, v.Confirmation[1:33]) || !bytes.Equal(y, v.Confirmation[33:]) {
		t.Fatalf("cnf %s read as %x", raw, v.Confirmation)
	}
}

// FuzzClaimsRoundTrip: any claims either mint and verify back unchanged, or
// are refused with ErrClaims for a documented reason.
func FuzzClaimsRoundTrip(f *testing.F) {
	f.Add("attestd", "com.example.shop", "acme", "jti", "did", "pay", "", true, int64(1_760_000_000), int64(300))
	f.Add("\"\\\x00\u2028", "ÿ", "", "\xff", "", "", "a,b", false, int64(0), int64(1))
	s := fuzzSigners(f)["hs"]
	ks, _ := NewKeySet(s.Verifier())
	f.Fuzz(func(t *testing.T, iss, sub, aud, jti, did, pay, arc string, hasArc bool, iat, ttl int64) {
		iat %= 1 << 40
		ttl = 1 + (ttl&0xFFFF)%100000
		c := Claims{Issuer: iss, Subject: sub, Audience: aud, IssuedAt: iat, ExpiresAt: iat + ttl, ID: jti, Device: did, Payload: pay}
		if hasArc {
			c.Annotation = &arc
		}
		if ttl%2 == 1 { // a cnf derived from the inputs (any 64 bytes after 0x04)
			sum := sha512.Sum512([]byte(jti))
			c.Confirmation[0] = 4
			copy(c.Confirmation[1:], sum[:])
		}
		tok, err := s.AppendMint(nil, &c)
		allValid := !hasArc || utf8.ValidString(arc)
		for _, s := range []string{iss, sub, aud, jti, did, pay} {
			allValid = allValid && utf8.ValidString(s)
		}
		js, _ := appendClaims(nil, &c)
		fits := len(s.header)+b64.EncodedLen(len(js))+44 <= MaxTokenSize
		if err != nil {
			if !errors.Is(err, ErrClaims) || allValid && c.ExpiresAt != 0 && fits {
				t.Fatalf("AppendMint refused valid claims: %v", err)
			}
			return
		}
		if len(tok) > MaxTokenSize {
			t.Fatalf("minted a %d-byte token", len(tok))
		}
		var v Verified
		if err := ks.Verify(tok, Options{Now: time.Unix(iat, 0), Audience: aud, Issuer: iss}, &v); err != nil {
			t.Fatalf("minted token does not verify: %v", err)
		}
		if !claimsEqual(v.Claims(), c) {
			t.Fatalf("round trip: %+v vs %+v", v.Claims(), c)
		}
	})
}

// TestFuzzCorpusValid: the committed corpus's valid-* tokens still verify,
// so that FuzzParse's round-trip property is exercised from its seeds.
func TestFuzzCorpusValid(t *testing.T) {
	signers := fuzzSigners(t)
	var keys []VerifyKey
	for _, s := range signers {
		keys = append(keys, s.Verifier())
	}
	ks := keySet(t, keys...)
	files, _ := filepath.Glob(filepath.Join("testdata", "fuzz", "FuzzParse", "valid-*"))
	if len(files) < 3 {
		t.Fatalf("%d valid-* corpus files", len(files))
	}
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		_, lit, _ := strings.Cut(strings.TrimSpace(string(b)), "\n")
		tok, err := strconv.Unquote(strings.TrimSuffix(strings.TrimPrefix(lit, "[]byte("), ")"))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		var v Verified
		if err := ks.Verify([]byte(tok), fuzzOpts, &v); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}
