package playintegrity_test

import (
	"crypto/x509"
	"encoding/base64"
	"testing"

	"github.com/attestd/attestd/internal/testenv/nodeinterop"
	"github.com/attestd/attestd/verify/playintegrity"
)

type nodeCase struct {
	Name    string            `json:"name"`
	Payload string            `json:"payload"`
	Kind    string            `json:"kind"`
	Header  map[string]string `json:"header,omitempty"`
}

// TestTokensOfAnIndependentEncoder: tokens made by npm jose, not by
// go-jose, the way Google makes them pass, and each way Google does not
// make them fails with its reason, so the decoder is not checked only
// against the library it is built on.
func TestTokensOfAnIndependentEncoder(t *testing.T) {
	node := nodeinterop.Find(t, "jose")
	r := newRig(t)
	pkcs8, err := x509.MarshalPKCS8PrivateKey(r.iss.SigningKey)
	if err != nil {
		t.Fatal(err)
	}
	payload := string(r.pass().JSON())
	want := map[string]string{
		"genuine": "", "genuine-with-kid-and-typ": "",
		"dir": "play_malformed", "a128gcm": "play_malformed", "es384": "play_malformed", "hs256": "play_malformed",
		"none": "play_malformed", "bare-jws": "play_malformed", "jwe-json": "play_malformed",
		"other-key": "play_keys", "another-device": "play_nonce",
	}
	other := r.pass()
	other.Nonce = playintegrity.Nonce(r.nonce, deviceSPKI(t))
	cases := []nodeCase{
		{Name: "genuine", Payload: payload, Kind: "genuine"},
		{Name: "genuine-with-kid-and-typ", Payload: payload, Kind: "genuine", Header: map[string]string{"kid": "k1", "typ": "JWT"}},
		{Name: "another-device", Payload: string(other.JSON()), Kind: "genuine"},
	}
	for _, k := range []string{"dir", "a128gcm", "es384", "hs256", "none", "bare-jws", "jwe-json", "other-key"} {
		cases = append(cases, nodeCase{Name: k, Payload: payload, Kind: k})
	}
	in := map[string]any{
		"decryptionKey": r.iss.DecryptionKeyB64(), "signingKeyPKCS8": base64.StdEncoding.EncodeToString(pkcs8), "cases": cases,
	}
	var out struct{ Tokens map[string]string }
	if stderr, ok := node.Run(t, "playintegrity.mjs", in, &out); !ok {
		t.Fatalf("node: %s", stderr)
	}
	if len(out.Tokens) != len(want) {
		t.Fatalf("node made %d tokens, want %d", len(out.Tokens), len(want))
	}
	for name, reason := range want {
		t.Run(name, func(t *testing.T) {
			_, err := r.verify(out.Tokens[name], playintegrity.Policy{})
			wantReason(t, err, reason)
		})
	}
}
