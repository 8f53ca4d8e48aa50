package httpsig

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

// The parsers' fuzz targets. Their seed corpora (testdata/fuzz) hold the
// attacker's inputs of the tests: duplicates, huge fields, bad escapes,
// numbers too long, nesting where none is allowed.
//
//	go test -run='^$' -fuzz=FuzzStructuredField -fuzztime=3m ./crypto/httpsig/
//	go test -run='^$' -fuzz=FuzzSignatureInput -fuzztime=3m ./crypto/httpsig/
//	go test -run='^$' -fuzz=FuzzVerifyRequest -fuzztime=3m ./crypto/httpsig/

var fuzzSeeds = []string{
	`att=("@method" "@authority" "@path" "@query" "attest-token" "content-digest");created=1760000000;keyid="BJ8DA9W_t4GhCzJzN4ZWCIlmOHJEuuo_j7-36p0EUR8";alg="ecdsa-p256-sha256"`,
	`sig-b24=("@status" "content-type" "content-digest" "content-length");created=1618884473;keyid="test-key-ecc-p256"`,
	`att=:wNmSUAhwb5LxtOtOpNa6W5xj067m5hFrj0XQ4fvpaCLx0NKocgPquLgyahnzDnDAUy5eCdlYUEkLIj+32oiasw==:`,
	`sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:, sha-512=:AAAA:`,
	`att=("@method");created=1, att=("@path");created=2`,
	`att=("@method" "@method");created=1`,
	`att=("@method");created=1;created=2`,
	`att=("@method";req "@path");created=1`,
	`att=("@method");created=0001;keyid="a\"b\\c"`,
	`att=("@method");created=1234567890123456`,
	`att=("@method");created=123456789012.1234`,
	`a=1.5, b=-0.001, c=?1, d=?0, e=tok/en:x, f, g;p=1;q, h=()`,
	`att=(  "@method"   "@path"  );created=1  ,  sig1=:AA==:`,
	`att=("@method"),`,
	`att=(("@method"))`,
	`att="\x00"`,
	`ATT=1`,
	`att=:A=A=:`,
	`att=("` + strings.Repeat("a", 200) + `")`,
	strings.Repeat("a=1, ", 9),
	`att=(` + strings.Repeat(`"x" `, 17) + `)`,
	`att=("a");` + strings.Repeat("p=1;", 9),
	`x=@123, y=%"display"`,
}

// FuzzStructuredField: the dictionary parser never panics and never reads
// outside its input; what it accepts is within the limits, has distinct
// keys, and each member's text parses again, alone, to the same key and
// value, so that joining the members' texts with ", " (what the proxy does
// to drop a member) gives a dictionary with the same members.
func FuzzStructuredField(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		b := []byte(s)
		var d dictionary
		if err := parseDictionary(b, &d); err != nil {
			return
		}
		if len(b) > MaxFieldSize || d.n > MaxMembers {
			t.Fatalf("accepted past the limits: %d bytes, %d members", len(b), d.n)
		}
		var parts [][]byte
		for i := 0; i < d.n; i++ {
			m := d.m[i]
			if len(m.key.of(b)) > MaxKeyLen {
				t.Fatalf("key over %d bytes", MaxKeyLen)
			}
			for j := 0; j < i; j++ {
				if bytes.Equal(d.m[j].key.of(b), m.key.of(b)) {
					t.Fatalf("duplicate key %q accepted", m.key.of(b))
				}
			}
			parts = append(parts, m.full.of(b))
			if m.list {
				var il innerList
				if err := parseInnerListValue(m.val.of(b), &il); err != nil {
					t.Fatalf("member %q's inner list does not parse alone: %v", m.key.of(b), err)
				}
			}
		}
		joined := bytes.Join(parts, []byte(", "))
		var d2 dictionary
		if err := parseDictionary(joined, &d2); err != nil || d2.n != d.n {
			t.Fatalf("the members joined again (%q) do not parse to the same dictionary: %v", joined, err)
		}
		for i := 0; i < d.n; i++ {
			if !bytes.Equal(d.m[i].key.of(b), d2.m[i].key.of(joined)) || !bytes.Equal(d.m[i].val.of(b), d2.m[i].val.of(joined)) {
				t.Fatalf("member %d changed when joined again", i)
			}
		}
	})
}

// FuzzSignatureInput: parsing a Signature-Input member never panics; what
// it accepts serialises (the "@signature-params" value) to text that parses
// again to the same serialisation, with the same components and times: a
// signer and a verifier that both serialise agree on the base.
func FuzzSignatureInput(f *testing.F) {
	for _, s := range fuzzSeeds {
		if _, v, ok := strings.Cut(s, "="); ok {
			f.Add(v)
		}
	}
	f.Add(`("@method" "@authority" "@path" "attest-token");created=0012;keyid="k";alg="ecdsa-p256-sha256";nonce="n";tag="t";expires=15`)
	f.Fuzz(func(t *testing.T, s string) {
		var in Input
		if err := parseInput([]byte(s), &in); err != nil {
			return
		}
		ser := in.appendParams(nil)
		var in2 Input
		if err := parseInput(ser, &in2); err != nil {
			t.Fatalf("the serialisation %q of %q does not parse: %v", ser, s, err)
		}
		if ser2 := in2.appendParams(nil); !bytes.Equal(ser, ser2) {
			t.Fatalf("serialisation is not a fixed point: %q then %q", ser, ser2)
		}
		if in.Components() != in2.Components() || in.Created != in2.Created || in.HasCreated != in2.HasCreated ||
			in.Expires != in2.Expires || in.HasExpires != in2.HasExpires {
			t.Fatalf("%q and its serialisation %q differ", s, ser)
		}
		for i := 0; i < in.Components(); i++ {
			if !bytes.Equal(in.Component(i), in2.Component(i)) {
				t.Fatalf("component %d differs", i)
			}
		}
		k1, ok1 := in.KeyID()
		k2, ok2 := in2.KeyID()
		if ok1 != ok2 || !bytes.Equal(k1, k2) {
			t.Fatalf("keyid differs")
		}
	})
}

// FuzzVerifyRequest: whatever the signature fields and Content-Digest of
// a request hold, verification does not panic, fails with one of the
// package's errors, and passes only for the genuine signature fields.
func FuzzVerifyRequest(f *testing.F) {
	key := newKey(f)
	genuine := newSigned(f, key, testNow.Unix(), "x=1", []byte(`{"a":1}`))
	in, sig, cd := genuine.req.Header.Get("Signature-Input"), genuine.req.Header.Get("Signature"), genuine.req.Header.Get("Content-Digest")
	f.Add(in, sig, cd)
	f.Add(in+", "+in, sig, cd)
	f.Add(strings.Replace(in, "att=", "sig1=", 1), sig, cd)
	f.Add(in, sig, "sha-256=:AAAA:")
	f.Add(`att=("@method");created=1`, "att=:AAAA:", "")
	sentinels := []error{ErrMissing, ErrMalformed, ErrComponents, ErrKeyID, ErrAlgorithm, ErrTime, ErrDigest, ErrSignature, ErrKey}
	pt := point(key)
	f.Fuzz(func(t *testing.T, input, signature, digest string) {
		s := genuine.clone()
		s.req.Header.Set("Signature-Input", input)
		s.req.Header.Set("Signature", signature)
		s.req.Header.Set("Content-Digest", digest)
		var sc Scratch
		_, err := sc.VerifyRequest(&s.req, pt, s.body, testNow, 0)
		if err == nil {
			if input != in || digest != cd || !sameSignature(signature, sig) {
				t.Fatalf("verified forged fields: %q %q %q", input, signature, digest)
			}
			return
		}
		for _, e := range sentinels {
			if errors.Is(err, e) {
				return
			}
		}
		t.Fatalf("error without a sentinel: %v", err)
	})
}

// sameSignature reports whether the Signature field value a carries the
// same att signature as b (padding may differ; the malleated twin of a
// signature would verify too, and is caught by the replay ID).
func sameSignature(a, b string) bool {
	var d1, d2 dictionary
	if parseDictionary([]byte(a), &d1) != nil || parseDictionary([]byte(b), &d2) != nil {
		return false
	}
	m1, ok1 := d1.lookup([]byte(a), Label)
	m2, ok2 := d2.lookup([]byte(b), Label)
	if !ok1 || !ok2 {
		return false
	}
	var s1, s2 [SigSize]byte
	v1, v2 := m1.val.of([]byte(a)), m2.val.of([]byte(b))
	if len(v1) < 2 || len(v2) < 2 {
		return false
	}
	return decodeBinary(s1[:], v1[1:len(v1)-1]) && decodeBinary(s2[:], v2[1:len(v2)-1]) &&
		(s1 == s2 || SignatureID(&s1) == SignatureID(&s2))
}
