package loadtest

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/attestd/attestd/client"
)

var update = flag.Bool("update", false, "rewrite the golden files of testdata/")

const testNonce = "v1.n1.AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4v"

// fixedDevice is a device with a fixed key, so that its bodies are fixed
// too.
func fixedDevice(t testing.TB) (*Device, *ecdsa.PrivateKey) {
	t.Helper()
	key, err := ecdsa.ParseRawPrivateKey(elliptic.P256(), bytes.Repeat([]byte{7}, 32))
	if err != nil {
		t.Fatal(err)
	}
	d, err := newDevice(key)
	if err != nil {
		t.Fatal(err)
	}
	return d, key
}

// TestBodiesAreTheClientsBodies: the generator's body of every kind is,
// byte for byte, what client.Client.Body sends for the app and evidence
// that kind stands for; the passing one is also the committed golden file
// (go test ./loadtest -run ClientsBodies -update rewrites it).
func TestBodiesAreTheClientsBodies(t *testing.T) {
	d, key := fixedDevice(t)
	registered := client.App{ID: App, Version: Version, Platform: Platform, Signer: signerDigest[:], CodeDigest: codeDigest[:]}
	with := func(edit func(*client.App)) client.App { a := registered; edit(&a); return a }
	for k, want := range map[Kind]struct {
		app client.App
		ev  client.Evidence
	}{
		KindPass:         {app: registered},
		KindRooted:       {app: registered, ev: client.Evidence{Integrity: client.Integrity{Rooted: true}}},
		KindMeasurement:  {app: with(func(a *client.App) { a.CodeDigest = wrongDigest[:] })},
		KindVersion:      {app: with(func(a *client.App) { a.Version = UnknownVersion })},
		KindUnknownApp:   {app: with(func(a *client.App) { a.ID = UnknownApp })},
		KindBadSignature: {app: registered},
		KindReplay:       {app: registered},
	} {
		c, err := client.New(client.Config{BaseURL: "http://127.0.0.1:1", App: want.app, DeviceKey: key})
		if err != nil {
			t.Fatal(err)
		}
		wantBody, err := c.Body(testNonce, want.ev)
		if err != nil {
			t.Fatal(err)
		}
		if got := d.AppendBody(nil, testNonce, k); !bytes.Equal(got, wantBody) {
			t.Errorf("%s: body\n%s\nclient's\n%s", k, got, wantBody)
		}
	}
	got := d.AppendBody(nil, testNonce, KindPass)
	path := filepath.Join("testdata", "attest-body-pass.json")
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if golden, err := os.ReadFile(path); err != nil || !bytes.Equal(got, golden) {
		t.Errorf("pass body differs from %s (%v):\n got %s\nwant %s", path, err, got, golden)
	}
}

// TestSignatures: a kind's signature verifies over its body, but for
// KindBadSignature, whose signature is by the same key over other bytes.
func TestSignatures(t *testing.T) {
	d, key := fixedDevice(t)
	for _, k := range []Kind{KindPass, KindBadSignature} {
		body := d.AppendBody(nil, testNonce, k)
		sig, err := d.Sign(nil, body, k, nil)
		if err != nil {
			t.Fatal(err)
		}
		der, err := base64.RawURLEncoding.DecodeString(string(sig))
		if err != nil {
			t.Fatal(err)
		}
		sum, other := sha256.Sum256(body), sha256.Sum256(body[:len(body)-1])
		if ok := ecdsa.VerifyASN1(&key.PublicKey, sum[:], der); ok != (k == KindPass) {
			t.Errorf("%s: signature over the body verifies: %v", k, ok)
		}
		if k == KindBadSignature && !ecdsa.VerifyASN1(&key.PublicKey, other[:], der) {
			t.Errorf("%s: not a valid signature of other bytes", k)
		}
	}
}

// TestAppendBodyAllocatesNothing: a worker's body costs no allocation.
func TestAppendBodyAllocatesNothing(t *testing.T) {
	d, _ := fixedDevice(t)
	buf := make([]byte, 0, 768)
	for k := range numKinds {
		if n := testing.AllocsPerRun(50, func() { buf = d.AppendBody(buf[:0], testNonce, k) }); n != 0 {
			t.Errorf("%s: %v allocations, want 0", k, n)
		}
	}
}

// BenchmarkAppendBody and BenchmarkSign are a worker's work per attest;
// BenchmarkSignFloor is the ECDSA signature alone.
func BenchmarkAppendBody(b *testing.B) {
	d, _ := fixedDevice(b)
	buf := make([]byte, 0, 768)
	b.ReportAllocs()
	for b.Loop() {
		buf = d.AppendBody(buf[:0], testNonce, KindPass)
	}
}

func BenchmarkSign(b *testing.B) {
	d, _ := fixedDevice(b)
	body := d.AppendBody(nil, testNonce, KindPass)
	sig := make([]byte, 0, 100)
	b.ReportAllocs()
	for b.Loop() {
		var err error
		if sig, err = d.Sign(sig[:0], body, KindPass, nil); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSignFloor(b *testing.B) {
	_, key := fixedDevice(b)
	body := bytes.Repeat([]byte("x"), 500)
	b.ReportAllocs()
	for b.Loop() {
		sum := sha256.Sum256(body)
		if _, err := ecdsa.SignASN1(rand.Reader, key, sum[:]); err != nil {
			b.Fatal(err)
		}
	}
}
