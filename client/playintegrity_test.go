package client_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"testing"

	"github.com/attestd/attestd/client"
	"github.com/attestd/attestd/verify/playintegrity"
)

// TestPlayIntegrityNonceIsTheEdges: the nonce the SDK hands to Play is the
// one the edge expects, over the device key's SPKI DER whichever encoding
// of device.key the client sends.
func TestPlayIntegrityNonceIsTheEdges(t *testing.T) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	spki, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	const nonce = "n1.AAAA.some-nonce"
	want := playintegrity.Nonce([]byte(nonce), spki)
	for _, enc := range []string{"spki", "raw"} {
		c, err := client.New(client.Config{BaseURL: "http://127.0.0.1:0", DeviceKey: k, KeyEncoding: enc,
			App: client.App{ID: "a", Signer: make([]byte, 32), CodeDigest: make([]byte, 32)}})
		if err != nil {
			t.Fatal(err)
		}
		got, err := c.PlayIntegrityNonce(nonce)
		if err != nil || got != want || len(got) != 43 {
			t.Fatalf("%s: PlayIntegrityNonce = %q, %v, want %q", enc, got, err, want)
		}
	}
	var ev struct{ Format, Token string }
	if err := json.Unmarshal(client.PlayIntegrityEvidence("a.b.c.d.e"), &ev); err != nil || ev.Format != "play-integrity" || ev.Token != "a.b.c.d.e" {
		t.Fatalf("PlayIntegrityEvidence: %+v, %v", ev, err)
	}
	both := client.Config{BaseURL: "http://127.0.0.1:0", App: client.App{ID: "a", Signer: make([]byte, 32), CodeDigest: make([]byte, 32)},
		Enroll:        func(context.Context, string) (json.RawMessage, error) { return nil, nil },
		PlayIntegrity: func(context.Context, string) (string, error) { return "", nil }}
	if _, err := client.New(both); err == nil {
		t.Fatal("a client with both Enroll and PlayIntegrity")
	}
}
