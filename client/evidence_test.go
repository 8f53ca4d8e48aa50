package client

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files of testdata/")

// goldenKey is a fixed device key, so that golden bodies are fixed too.
func goldenKey(t testing.TB) *ecdsa.PrivateKey {
	t.Helper()
	d := sha256.Sum256([]byte("attestd golden device key"))
	k, err := ecdsa.ParseRawPrivateKey(elliptic.P256(), d[:])
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func goldenApp() App {
	signer, code := sha256.Sum256([]byte("golden signer")), sha256.Sum256([]byte("golden code"))
	return App{ID: "com.example.shop", Version: "4.2.1", Platform: "android", Signer: signer[:], CodeDigest: code[:]}
}

const goldenNonce = "v1.n1.AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4v"

// TestAttestBodyGolden: the body for fixed inputs is the committed golden
// file, byte for byte (go test ./client -run Golden -update rewrites them).
// The load generator's bodies are checked against the same builder in
// package loadtest.
func TestAttestBodyGolden(t *testing.T) {
	for _, tc := range []struct {
		name  string
		cfg   Config
		ev    Evidence
		recpt string
	}{
		{name: "minimal", cfg: Config{}},
		{name: "full", cfg: Config{KeyEncoding: "raw", DebugToken: "adt_" + strings.Repeat("Q", 43)},
			ev: Evidence{Integrity: Integrity{Rooted: true, Hooked: true}, Binding: []byte("Bearer abc"), WantSecrets: true, PoP: true,
				PlatformAttestation: json.RawMessage(`{ "format": "android-key", "chain": ["AAAA", "BBBB"] }`)}},
		{name: "receipt", cfg: Config{}, recpt: "r.<receipt>&"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := tc.cfg
			cfg.BaseURL, cfg.App, cfg.DeviceKey = "http://127.0.0.1:1", goldenApp(), goldenKey(t)
			c, err := New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			c.receipt = tc.recpt
			got, err := c.Body(goldenNonce, tc.ev)
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join("testdata", "attest-body-"+tc.name+".json")
			if *update {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("body differs from %s:\n got %s\nwant %s", path, got, want)
			}
			if !reflect.DeepEqual(decode(t, got), decode(t, referenceBody(t, c, goldenNonce, tc.ev))) {
				t.Errorf("body %s is not what encoding/json makes of the same members", got)
			}
		})
	}
}

// referenceBody is the attest body as the client built it before AppendBody,
// through a map and json.Marshal: AppendBody must say the same.
func referenceBody(t testing.TB, c *Client, nonce string, ev Evidence) []byte {
	t.Helper()
	app := c.cfg.App
	m := hmac.New(sha256.New, app.CodeDigest)
	m.Write([]byte(nonce))
	key, err := x509.MarshalPKIXPublicKey(&c.key.PublicKey)
	if c.cfg.KeyEncoding == "raw" {
		pub, _ := c.key.PublicKey.ECDH()
		key = pub.Bytes()
	}
	if err != nil {
		t.Fatal(err)
	}
	b64 := base64.RawURLEncoding.EncodeToString
	body := map[string]any{
		"nonce": nonce,
		"app": map[string]any{"id": app.ID, "version": app.Version, "platform": app.Platform,
			"signer": b64(app.Signer), "measurement": b64(m.Sum(nil))},
		"device": map[string]any{"key": b64(key), "integrity": ev.Integrity},
	}
	if ev.Binding != nil {
		sum := sha256.Sum256(ev.Binding)
		body["binding"] = b64(sum[:])
	}
	if ev.WantSecrets {
		body["want_secrets"] = true
	}
	if c.cfg.DebugToken != "" {
		body["debug_token"] = c.cfg.DebugToken
	}
	if ev.PoP {
		body["pop"] = true
	}
	if ev.PlatformAttestation != nil {
		body["platform_attestation"] = ev.PlatformAttestation
	} else if c.receipt != "" {
		body["platform_attestation"] = map[string]string{"format": "receipt", "receipt": c.receipt}
	}
	out, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func decode(t testing.TB, b []byte) any {
	t.Helper()
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("%s is not JSON: %v", b, err)
	}
	return v
}

// TestBodyRefusesBrokenPlatformAttestation: raw platform_attestation that
// is not JSON is an error, as json.Marshal made it, never a broken body.
func TestBodyRefusesBrokenPlatformAttestation(t *testing.T) {
	c, err := New(Config{BaseURL: "http://127.0.0.1:1", App: goldenApp()})
	if err != nil {
		t.Fatal(err)
	}
	for _, raw := range []string{`{"format":`, ``, `{} {}`, `nul`} {
		if b, err := c.Body(goldenNonce, Evidence{PlatformAttestation: json.RawMessage(raw)}); err == nil {
			t.Errorf("platform_attestation %q gave body %s", raw, b)
		}
	}
}

// TestAppendSignatureVerifies: the signature is by the device key over the
// exact body bytes, appended after what dst holds.
func TestAppendSignatureVerifies(t *testing.T) {
	a, err := NewAttester(AttesterConfig{App: goldenApp(), Key: goldenKey(t)})
	if err != nil {
		t.Fatal(err)
	}
	body := a.AppendBody(nil, goldenNonce, &Evidence{})
	out, err := a.AppendSignature([]byte("prefix:"), body, nil)
	if err != nil {
		t.Fatal(err)
	}
	sig, err := base64.RawURLEncoding.DecodeString(strings.TrimPrefix(string(out), "prefix:"))
	if err != nil || !strings.HasPrefix(string(out), "prefix:") {
		t.Fatalf("signature %q: %v", out, err)
	}
	sum := sha256.Sum256(body)
	if !ecdsa.VerifyASN1(&goldenKey(t).PublicKey, sum[:], sig) {
		t.Error("signature does not verify over the body")
	}
	other := sha256.Sum256(append(body, ' '))
	if ecdsa.VerifyASN1(&goldenKey(t).PublicKey, other[:], sig) {
		t.Error("signature verifies over other bytes")
	}
}

// TestNewAttesterChecksItsConfig: a missing key, digests of the wrong size
// and an unknown key encoding are refused.
func TestNewAttesterChecksItsConfig(t *testing.T) {
	short := goldenApp()
	short.CodeDigest = short.CodeDigest[:31]
	for name, cfg := range map[string]AttesterConfig{
		"no key":       {App: goldenApp()},
		"short digest": {App: short, Key: goldenKey(t)},
		"encoding":     {App: goldenApp(), Key: goldenKey(t), KeyEncoding: "pem"},
	} {
		if _, err := NewAttester(cfg); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// TestAppendBodyAllocatesNothing: the load generator's path (a buffer with
// room, a nonce of PROTOCOL.md's size) costs no allocation.
func TestAppendBodyAllocatesNothing(t *testing.T) {
	a, err := NewAttester(AttesterConfig{App: goldenApp(), Key: goldenKey(t), DebugToken: "adt_x"})
	if err != nil {
		t.Fatal(err)
	}
	ev := &Evidence{Integrity: Integrity{Rooted: true}, Binding: []byte("b"), WantSecrets: true, PoP: true}
	nonce := strings.Repeat("n", maxNonce)
	buf := make([]byte, 0, 1024)
	if n := testing.AllocsPerRun(100, func() { buf = a.AppendBody(buf[:0], nonce, ev) }); n != 0 {
		t.Errorf("AppendBody: %v allocations, want 0", n)
	}
}

// FuzzAppendBody: for any app strings, nonce and debug token, the body is
// valid JSON that says what encoding/json says of the same members, each
// string escaped byte for byte as json.Marshal escapes it, and the
// measurement is crypto/hmac's.
func FuzzAppendBody(f *testing.F) {
	f.Add("com.example.shop", "4.2.1", goldenNonce, "")
	f.Add("<app>&\"\\", "\u2028\u2029", "\x00\x1f\x7f\b\f\n\r\t", "adt_\xff\xfe")
	f.Add("é\xc3", "\xe2\x80", strings.Repeat("n", maxNonce+1), "\U0001F600")
	key := goldenKey(f)
	f.Fuzz(func(t *testing.T, id, version, nonce, debug string) {
		app := goldenApp()
		app.ID, app.Version = id, version
		c, err := New(Config{BaseURL: "http://127.0.0.1:1", App: app, DeviceKey: key, DebugToken: debug})
		if err != nil {
			t.Fatal(err)
		}
		ev := Evidence{Integrity: Integrity{Debugger: true}, WantSecrets: len(nonce)%2 == 0}
		got, err := c.Body(nonce, ev)
		if err != nil {
			t.Fatal(err)
		}
		if !json.Valid(got) {
			t.Fatalf("body %q is not JSON", got)
		}
		if !reflect.DeepEqual(decode(t, got), decode(t, referenceBody(t, c, nonce, ev))) {
			t.Fatalf("body %q differs from encoding/json's", got)
		}
		for _, s := range []string{id, version, nonce, debug} {
			want, _ := json.Marshal(s)
			if got := appendString(nil, s); !bytes.Equal(got, want) {
				t.Fatalf("appendString(%q) = %s, json.Marshal %s", s, got, want)
			}
		}
	})
}

// BenchmarkAppendBody is the load generator's body; its baseline,
// BenchmarkAppendBodyViaMap, is the same members through a map and
// json.Marshal (how the client built bodies before AppendBody).
func BenchmarkAppendBody(b *testing.B) {
	c, err := New(Config{BaseURL: "http://127.0.0.1:1", App: goldenApp(), DeviceKey: goldenKey(b)})
	if err != nil {
		b.Fatal(err)
	}
	ev := &Evidence{Integrity: Integrity{Rooted: true}}
	buf := make([]byte, 0, 1024)
	b.ReportAllocs()
	for b.Loop() {
		buf = c.att.AppendBody(buf[:0], goldenNonce, ev)
	}
}

func BenchmarkAppendBodyViaMap(b *testing.B) {
	c, err := New(Config{BaseURL: "http://127.0.0.1:1", App: goldenApp(), DeviceKey: goldenKey(b)})
	if err != nil {
		b.Fatal(err)
	}
	ev := Evidence{Integrity: Integrity{Rooted: true}}
	b.ReportAllocs()
	for b.Loop() {
		referenceBody(b, c, goldenNonce, ev)
	}
}
