package e2e

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/go-jose/go-jose/v4"

	"github.com/attestd/attestd/client"
	"github.com/attestd/attestd/crypto/secret"
	"github.com/attestd/attestd/internal/model"
	"github.com/attestd/attestd/internal/testenv"
	"github.com/attestd/attestd/internal/testenv/nodeinterop"
)

type interopInput struct {
	JWE      string          `json:"jwe,omitempty"`
	Device   json.RawMessage `json:"devicePrivateJWK,omitempty"`
	Token    string          `json:"token,omitempty"`
	JWKS     json.RawMessage `json:"jwks,omitempty"`
	Audience string          `json:"audience,omitempty"`
	Issuer   string          `json:"issuer,omitempty"`
}

type interopOutput struct {
	Secrets     map[string]string `json:"secrets"`
	JWEHeader   map[string]any    `json:"jweHeader"`
	Claims      map[string]any    `json:"claims"`
	TokenHeader map[string]any    `json:"tokenHeader"`
}

// runInterop runs interop.mjs on in; ok is whether it exited 0.
func runInterop(t *testing.T, node nodeinterop.Node, in interopInput) (out interopOutput, stderr string, ok bool) {
	t.Helper()
	stderr, ok = node.Run(t, "interop.mjs", in, &out)
	return out, stderr, ok
}

// TestNodeJoseInterop: Node.js with the npm package jose, a second JOSE
// implementation, decrypts the runtime-secrets JWE of a real daemon with the
// device's private key and verifies its ES256 token against the published
// JWKS; it refuses a failed verdict's token and a tampered JWE.
func TestNodeJoseInterop(t *testing.T) {
	node := nodeinterop.Find(t, "jose")
	const value = "sk_node_interop_51d2"
	f := testenv.NewFixture(t)
	es := &f.Bundle.Accounts[1]
	es.Secrets = append(es.Secrets, model.Secret{Name: "node_key", Value: secret.FromString(value), Apps: []string{testenv.AppES}})
	n := testenv.StartNode(t, testenv.NewStore(t, f), testenv.Options{})
	e := &env{t: t, f: f, node: n, tr: http1()}
	c := e.client(testenv.AppES)
	r, err := c.Attest(context.Background(), client.Evidence{WantSecrets: true})
	if err != nil {
		t.Fatal(err)
	}
	jwks := e.do("GET", "/v1/accounts/"+testenv.AccountES+"/jwks.json", "", nil, nil)
	if jwks.status != 200 {
		t.Fatalf("jwks: %d", jwks.status)
	}
	dev, err := jose.JSONWebKey{Key: c.DeviceKey()}.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	in := interopInput{JWE: r.Secrets, Device: dev, Token: r.Token, JWKS: jwks.body, Audience: testenv.AccountES, Issuer: "attestd"}

	out, stderr, ok := runInterop(t, node, in)
	if !ok {
		t.Fatalf("node jose refused a passing verdict: %s", stderr)
	}
	if len(out.Secrets) != 1 || out.Secrets["node_key"] != value {
		t.Errorf("node decrypted %d secrets, not exactly the app's", len(out.Secrets))
	}
	if h := out.JWEHeader; h["alg"] != "ECDH-ES" || h["enc"] != "A256GCM" || h["kid"] != c.DID() {
		t.Errorf("JWE header as node reads it: %v", h)
	}
	if cl := out.Claims; cl["aud"] != testenv.AccountES || cl["sub"] != testenv.AppES || cl["did"] != c.DID() || cl["iss"] != "attestd" {
		t.Errorf("claims as node verified them: %v", cl)
	}
	if h := out.TokenHeader; h["alg"] != "ES256" || h["kid"] != testenv.KIDES || h["typ"] != "JWT" {
		t.Errorf("token header: %v", h)
	}

	t.Run("refuses-failed-verdict-token", func(t *testing.T) {
		bad, err := c.Attest(context.Background(), client.Evidence{Integrity: client.Integrity{Hooked: true}})
		if err != nil {
			t.Fatal(err)
		}
		if _, stderr, ok := runInterop(t, node, interopInput{Token: bad.Token, JWKS: jwks.body, Audience: testenv.AccountES, Issuer: "attestd"}); ok {
			t.Fatal("node jose accepted a failed verdict's token")
		} else if !strings.Contains(stderr, "signature") {
			t.Errorf("refused for another reason: %s", stderr)
		}
	})
	t.Run("refuses-tampered-jwe", func(t *testing.T) {
		parts := strings.Split(r.Secrets, ".")
		ct := []byte(parts[3])
		if ct[0] == 'A' { // another base64url letter: the tag must fail
			ct[0] = 'B'
		} else {
			ct[0] = 'A'
		}
		parts[3] = string(ct)
		if _, _, ok := runInterop(t, node, interopInput{JWE: strings.Join(parts, "."), Device: dev}); ok {
			t.Fatal("node jose decrypted a tampered JWE")
		}
	})
	t.Run("refuses-other-audience", func(t *testing.T) {
		if _, _, ok := runInterop(t, node, interopInput{Token: r.Token, JWKS: jwks.body, Audience: testenv.Account, Issuer: "attestd"}); ok {
			t.Fatal("node jose accepted the token for another audience")
		}
	})
}
