package ctl

import (
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"strings"
	"testing"

	"github.com/attestd/attestd/verify/playintegrity/playtest"
)

// TestPlayIntegrityKeyCommands: set, show, rotate, end-rotation, remove
// from files and standard input, and the keys are never shown by any
// command nor stored in clear.
func TestPlayIntegrityKeyCommands(t *testing.T) {
	e := newEnv(t)
	e.ok("import", e.writeFile("b.json", bundleJS()))
	k1, _ := playtest.NewIssuer()
	k2, _ := playtest.NewIssuer()
	der, _ := x509.MarshalPKIXPublicKey(&k2.SigningKey.PublicKey)
	pemVer := string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
	dec1 := e.writeFile("dec1", k1.DecryptionKeyB64()+"\n")
	ver1 := e.writeFile("ver1", k1.VerificationKeyB64()+"\n")
	// The second pair as Play Console text may come: URL-safe, wrapped, PEM.
	dec2 := e.writeFile("dec2", wrap(base64.RawURLEncoding.EncodeToString(k2.DecryptionKey), 20))

	e.ok("play-integrity", "set", "acme", "com.example.shop", "--decryption-key-file", dec1, "--verification-key-file", ver1)
	show := e.ok("play-integrity", "show", "acme", "com.example.shop").stdout
	if !strings.Contains(show, k1.KeyPair().Fingerprint()) || strings.Contains(show, "previous") {
		t.Fatalf("show after set: %s", show)
	}
	r := e.runIn(pemVer, "play-integrity", "rotate", "acme", "com.example.shop", "--decryption-key-file", dec2, "--verification-key-file", "-")
	if r.code != ExitOK {
		t.Fatalf("rotate: %d %s", r.code, r.stderr)
	}
	show = e.ok("play-integrity", "show", "acme", "com.example.shop").stdout
	if !strings.Contains(show, `"current_verification_key_sha256": "`+k2.KeyPair().Fingerprint()) ||
		!strings.Contains(show, `"previous_verification_key_sha256": "`+k1.KeyPair().Fingerprint()) {
		t.Fatalf("show after rotate: %s", show)
	}
	get := e.ok("get", "app", "com.example.shop").stdout
	if !strings.Contains(get, `"decryption_key": "[redacted]"`) {
		t.Fatalf("get app: %s", get)
	}
	e.ok("export")
	e.ok("list", "apps")
	e.ok("play-integrity", "end-rotation", "acme", "com.example.shop")
	e.fail(ExitFailure, []string{"play-integrity", "end-rotation", "acme", "com.example.shop"}, "no previous")
	e.ok("play-integrity", "remove", "acme", "com.example.shop")
	if show = e.ok("play-integrity", "show", "acme", "com.example.shop").stdout; strings.Contains(show, "current") {
		t.Fatalf("show after remove: %s", show)
	}
	keys := []string{k1.DecryptionKeyB64(), k1.VerificationKeyB64(), k2.DecryptionKeyB64(), k2.VerificationKeyB64(),
		base64.RawURLEncoding.EncodeToString(k2.DecryptionKey)}
	e.ok("play-integrity", "set", "acme", "com.example.shop", "--decryption-key-file", dec1, "--verification-key-file", ver1)
	state := string(e.stateBytes())
	for _, k := range keys {
		if strings.Contains(state, k) {
			t.Fatal("a Play Integrity key is stored in clear")
		}
		for _, o := range e.outs.all {
			if strings.Contains(o, k) {
				t.Fatalf("a Play Integrity key was printed: %s", o)
			}
		}
	}
}

// TestPlayIntegrityKeyCommandsRefuse: what cannot be right is refused, and
// no error shows a key.
func TestPlayIntegrityKeyCommandsRefuse(t *testing.T) {
	e := newEnv(t)
	e.ok("import", e.writeFile("b.json", bundleJS()))
	e.ok("import", e.writeFile("s.json", secondBundle("other")))
	k, _ := playtest.NewIssuer()
	dec := e.writeFile("dec", k.DecryptionKeyB64())
	ver := e.writeFile("ver", k.VerificationKeyB64())
	aes128 := e.writeFile("aes128", base64.StdEncoding.EncodeToString(k.DecryptionKey[:16]))
	set := func(args ...string) []string { return append([]string{"play-integrity", "set"}, args...) }
	e.fail(ExitUsage, set("acme", "com.example.shop", "--decryption-key-file", dec), "--verification-key-file")
	e.fail(ExitUsage, set("acme", "com.example.shop", "--decryption-key-file", "-", "--verification-key-file", "-"), "standard input")
	e.fail(ExitFailure, set("acme", "com.example.shop", "--decryption-key-file", aes128, "--verification-key-file", ver), "--decryption-key-file", "AES-256")
	e.fail(ExitFailure, set("acme", "com.example.shop", "--decryption-key-file", dec, "--verification-key-file", dec), "--verification-key-file", "P-256")
	e.fail(ExitFailure, set("acme", "com.example.shop", "--decryption-key-file", dec, "--verification-key-file", e.writeFile("x", "not base64!")), "--verification-key-file", "not base64")
	e.fail(ExitFailure, set("other", "com.example.shop", "--decryption-key-file", dec, "--verification-key-file", ver), `app "com.example.shop" of account "other"`)
	e.fail(ExitFailure, set("other", "app.other", "--decryption-key-file", dec, "--verification-key-file", ver), "only android apps")
	e.fail(ExitFailure, []string{"play-integrity", "rotate", "acme", "com.example.shop", "--decryption-key-file", dec, "--verification-key-file", ver}, "set them first")
	for _, o := range e.outs.all {
		if strings.Contains(o, k.DecryptionKeyB64()) || strings.Contains(o, k.VerificationKeyB64()) {
			t.Fatalf("a key was printed: %s", o)
		}
	}
	help := e.ok("help", "play-integrity", "set").stdout
	if !strings.Contains(help, "never taken from the command line") || !strings.Contains(help, "Release > App integrity") {
		t.Fatalf("help: %s", help)
	}
}

func wrap(s string, n int) string {
	var b strings.Builder
	for len(s) > n {
		b.WriteString(s[:n] + "\n")
		s = s[n:]
	}
	return b.String() + s + "\n"
}
