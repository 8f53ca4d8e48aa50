package seal

import (
	"bytes"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"testing"

	jose "github.com/go-jose/go-jose/v4"
)

func genKey(t testing.TB) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

const testKid = "dz4YgdMrHKxaeLGOBokc0R5eujF31Vbl6iVwxwRvci8"

// open decrypts with go-jose, the independent implementation, allowing only
// ECDH-ES with A256GCM.
func open(t testing.TB, jwe []byte, priv any) ([]byte, error) {
	t.Helper()
	obj, err := jose.ParseEncrypted(string(jwe), []jose.KeyAlgorithm{jose.ECDH_ES}, []jose.ContentEncryption{jose.A256GCM})
	if err != nil {
		return nil, fmt.Errorf("ParseEncrypted: %w", err)
	}
	if obj.Header.KeyID != testKid {
		return nil, fmt.Errorf("kid %q, want %q", obj.Header.KeyID, testKid)
	}
	return obj.Decrypt(priv)
}

func payload64K() []byte {
	var b bytes.Buffer
	b.WriteString("{")
	for i := 0; b.Len() < 64<<10-40; i++ {
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, `"secret_%04d":"%s"`, i, strings.Repeat("v", 20))
	}
	b.WriteString("}")
	return b.Bytes()
}

func TestGoJoseDecrypts(t *testing.T) {
	priv := genKey(t)
	privDH, _ := priv.ECDH()
	for _, tc := range []struct {
		name string
		pt   []byte
	}{
		{"empty-object", []byte("{}")},
		{"one-secret", []byte(`{"maps_api_key":"AIzaSyD-example"}`)},
		{"unicode", []byte(`{"ключ":"значение ✓"}`)},
		{"empty-plaintext", nil},
		{"64KiB", payload64K()},
	} {
		for _, dev := range []struct {
			name string
			key  any
		}{{"ecdsa", &priv.PublicKey}, {"ecdh", privDH.PublicKey()}} {
			t.Run(tc.name+"/"+dev.name, func(t *testing.T) {
				jwe, err := Seal(nil, dev.key, testKid, tc.pt, nil)
				if err != nil {
					t.Fatalf("Seal: %v", err)
				}
				got, err := open(t, jwe, priv)
				if err != nil {
					t.Fatalf("go-jose: %v", err)
				}
				if !bytes.Equal(got, tc.pt) {
					t.Fatalf("go-jose decrypted %d bytes, want %d", len(got), len(tc.pt))
				}
			})
		}
	}
}

func TestCompactShape(t *testing.T) {
	priv := genKey(t)
	pt := []byte(`{"a":"b"}`)
	jwe, err := Seal([]byte("prefix:"), &priv.PublicKey, testKid, pt, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(jwe, []byte("prefix:")) {
		t.Fatal("Seal did not append to dst")
	}
	parts := strings.Split(string(jwe[len("prefix:"):]), ".")
	if len(parts) != 5 {
		t.Fatalf("%d parts, want 5", len(parts))
	}
	dec := func(s string) []byte {
		b, err := base64.RawURLEncoding.Strict().DecodeString(s)
		if err != nil {
			t.Fatalf("part %q: %v", s, err)
		}
		return b
	}
	if parts[1] != "" {
		t.Errorf("encrypted key = %q, want empty", parts[1])
	}
	if n := len(dec(parts[2])); n != 12 {
		t.Errorf("IV is %d bytes, want 12", n)
	}
	if n := len(dec(parts[3])); n != len(pt) {
		t.Errorf("ciphertext is %d bytes, want %d", n, len(pt))
	}
	if n := len(dec(parts[4])); n != 16 {
		t.Errorf("tag is %d bytes, want 16", n)
	}

	var hdr map[string]json.RawMessage
	if err := json.Unmarshal(dec(parts[0]), &hdr); err != nil {
		t.Fatal(err)
	}
	wantMembers := []string{"alg", "enc", "epk", "kid"}
	if got := slices.Sorted(maps.Keys(hdr)); !slices.Equal(got, wantMembers) {
		t.Errorf("header members %v, want exactly %v", got, wantMembers)
	}
	var h struct {
		Alg, Enc, Kid string
		Epk           map[string]string
	}
	if err := json.Unmarshal(dec(parts[0]), &h); err != nil {
		t.Fatal(err)
	}
	if h.Alg != "ECDH-ES" || h.Enc != "A256GCM" || h.Kid != testKid {
		t.Errorf("header = %+v", h)
	}
	if got := slices.Sorted(maps.Keys(h.Epk)); !slices.Equal(got, []string{"crv", "kty", "x", "y"}) {
		t.Errorf("epk members %v, want exactly crv kty x y", got)
	}
	if h.Epk["kty"] != "EC" || h.Epk["crv"] != "P-256" {
		t.Errorf("epk = %v", h.Epk)
	}
	x, y := dec(h.Epk["x"]), dec(h.Epk["y"])
	if len(x) != 32 || len(y) != 32 {
		t.Fatalf("epk coordinates are %d and %d bytes, want 32 each", len(x), len(y))
	}
	if _, err := ecdh.P256().NewPublicKey(append(append([]byte{4}, x...), y...)); err != nil {
		t.Errorf("epk is not a P-256 point: %v", err)
	}
}

func TestFreshPerMessage(t *testing.T) {
	priv := genKey(t)
	a, _ := Seal(nil, &priv.PublicKey, testKid, []byte("{}"), nil)
	b, _ := Seal(nil, &priv.PublicKey, testKid, []byte("{}"), nil)
	ha, hb := strings.Split(string(a), ".")[0], strings.Split(string(b), ".")[0]
	if ha == hb {
		t.Error("two messages share an ephemeral key")
	}
}

func TestWrongKeyFails(t *testing.T) {
	priv, other := genKey(t), genKey(t)
	jwe, err := Seal(nil, &priv.PublicKey, testKid, []byte(`{"k":"v"}`), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := open(t, jwe, other); err == nil {
		t.Fatal("another device's key decrypted the JWE")
	}
}

// TestHeaderIsAuthenticated: the protected header is the AAD, so changing
// it (here the kid) makes decryption fail.
func TestHeaderIsAuthenticated(t *testing.T) {
	priv := genKey(t)
	jwe, _ := Seal(nil, &priv.PublicKey, testKid, []byte(`{"k":"v"}`), nil)
	parts := strings.SplitN(string(jwe), ".", 2)
	hdr, _ := base64.RawURLEncoding.DecodeString(parts[0])
	hdr = bytes.Replace(hdr, []byte(testKid), []byte(testKid[:42]+"X"), 1)
	forged := base64.RawURLEncoding.EncodeToString(hdr) + "." + parts[1]
	obj, err := jose.ParseEncrypted(forged, []jose.KeyAlgorithm{jose.ECDH_ES}, []jose.ContentEncryption{jose.A256GCM})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := obj.Decrypt(priv); err == nil {
		t.Fatal("a JWE with an altered header decrypted")
	}
}

// TestConcatKDFVector is RFC 7518 Appendix C: ECDH-ES with A128GCM,
// apu "Alice", apv "Bob", between the keys given there.
func TestConcatKDFVector(t *testing.T) {
	d := func(s string) []byte {
		b, err := base64.RawURLEncoding.DecodeString(s)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	alice, err := ecdh.P256().NewPrivateKey(d("0_NxaRPUMQoAJt50Gz8YiTr8gRTwyEaCumd-MToTmIo"))
	if err != nil {
		t.Fatal(err)
	}
	bobPoint := append(append([]byte{4}, d("weNJy2HscCSM6AEDTDg04biOvhFhyyWvOHQfeF_PxMQ")...), d("e8lnCO-AlStT-NJVX-crhB7QRYhiix03illJOVAOyck")...)
	bob, err := ecdh.P256().NewPublicKey(bobPoint)
	if err != nil {
		t.Fatal(err)
	}
	z, err := alice.ECDH(bob)
	if err != nil {
		t.Fatal(err)
	}
	got := concatKDF(z, "A128GCM", []byte("Alice"), []byte("Bob"), 128)
	if want := "VqqN6vgjbSBcIijNcacQGg"; base64.RawURLEncoding.EncodeToString(got) != want {
		t.Errorf("derived key = %s, want %s", base64.RawURLEncoding.EncodeToString(got), want)
	}
	// Two rounds, as a key longer than one hash needs.
	if long := concatKDF(z, "x", nil, nil, 384); len(long) != 48 || bytes.Equal(long[:32], long[16:48]) {
		t.Errorf("384-bit output %x", long)
	}
}

type failReader struct{}

func (failReader) Read([]byte) (int, error) { return 0, io.ErrUnexpectedEOF }

func TestSealErrors(t *testing.T) {
	priv := genKey(t)
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	x25519, _ := ecdh.X25519().GenerateKey(rand.Reader)
	edPub, _, _ := ed25519.GenerateKey(rand.Reader)
	var nilECDSA *ecdsa.PublicKey
	var nilECDH *ecdh.PublicKey
	for _, tc := range []struct {
		name string
		key  any
		kid  string
		pt   []byte
		rnd  io.Reader
		want error
	}{
		{"fail/p384", &p384.PublicKey, testKid, nil, nil, ErrKey},
		{"fail/x25519", x25519.PublicKey(), testKid, nil, nil, ErrKey},
		{"fail/ed25519", edPub, testKid, nil, nil, ErrKey},
		{"fail/private-key", priv, testKid, nil, nil, ErrKey},
		{"fail/nil", nil, testKid, nil, nil, ErrKey},
		{"fail/nil-ecdsa", nilECDSA, testKid, nil, nil, ErrKey},
		{"fail/nil-ecdh", nilECDH, testKid, nil, nil, ErrKey},
		{"fail/empty-kid", &priv.PublicKey, "", nil, nil, ErrKid},
		{"fail/kid-quote", &priv.PublicKey, `a"b`, nil, nil, ErrKid},
		{"fail/kid-backslash", &priv.PublicKey, `a\b`, nil, nil, ErrKid},
		{"fail/kid-newline", &priv.PublicKey, "a\nb", nil, nil, ErrKid},
		{"fail/kid-non-ascii", &priv.PublicKey, "é", nil, nil, ErrKid},
		{"fail/kid-too-long", &priv.PublicKey, strings.Repeat("a", MaxKidLen+1), nil, nil, ErrKid},
		{"fail/too-large", &priv.PublicKey, testKid, make([]byte, MaxPlaintext+1), nil, ErrTooLarge},
		{"fail/random", &priv.PublicKey, testKid, nil, failReader{}, ErrRandom},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dst := []byte("keep")
			out, err := Seal(dst, tc.key, tc.kid, tc.pt, tc.rnd)
			if !errors.Is(err, tc.want) {
				t.Fatalf("Seal = %v, want %v", err, tc.want)
			}
			if string(out) != "keep" {
				t.Errorf("dst changed on error: %q", out)
			}
		})
	}
}
