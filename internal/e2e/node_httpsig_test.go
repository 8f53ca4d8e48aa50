package e2e

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/go-jose/go-jose/v4"

	"github.com/attestd/attestd/backend"
	"github.com/attestd/attestd/client"
	"github.com/attestd/attestd/crypto/secret"
	"github.com/attestd/attestd/crypto/token"
	"github.com/attestd/attestd/internal/testenv"
	"github.com/attestd/attestd/internal/testenv/nodeinterop"
)

type nodeRequest struct {
	Method  string            `json:"method"`
	URL     string            `json:"url"`
	Headers map[string]string `json:"headers"`
	Body    string            `json:"body,omitempty"`
}

type httpsigInput struct {
	Mode       string          `json:"mode"`
	Request    nodeRequest     `json:"request"`
	PublicJWK  json.RawMessage `json:"publicJwk,omitempty"`
	PrivateJWK json.RawMessage `json:"privateJwk,omitempty"`
	KeyID      string          `json:"keyid"`
	Created    int64           `json:"created,omitempty"`
}

// runHTTPSig runs httpsig.mjs on in; ok is whether it exited 0.
func runHTTPSig(t *testing.T, node nodeinterop.Node, in httpsigInput) (out map[string]json.RawMessage, stderr string, ok bool) {
	t.Helper()
	stderr, ok = node.Run(t, "httpsig.mjs", in, &out)
	return out, stderr, ok
}

// headerMap is h as the npm package takes it: lower-case names, lines
// joined by ", ".
func headerMap(h http.Header) map[string]string {
	m := map[string]string{}
	for k, vs := range h {
		m[strings.ToLower(k)] = strings.Join(vs, ", ")
	}
	return m
}

// TestNodeHTTPSigInterop: RFC 9421 request signatures both ways between
// attestd and an independent implementation, Node.js with the npm package
// http-message-signatures: requests the Go client signs with the device
// key of a real pop attestation verify there (and tampered ones do not);
// requests that package signs with the device key verify with package
// backend's middleware, once.
func TestNodeHTTPSigInterop(t *testing.T) {
	node := nodeinterop.Find(t, "http-message-signatures")
	f := testenv.NewFixture(t)
	n := testenv.StartNode(t, testenv.NewStore(t, f), testenv.Options{})
	e := &env{t: t, f: f, node: n, tr: http1()}
	c := e.client(testenv.App)
	res, err := c.Attest(context.Background(), client.Evidence{PoP: true})
	if err != nil {
		t.Fatal(err)
	}
	priv, err := jose.JSONWebKey{Key: c.DeviceKey()}.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	pub, err := jose.JSONWebKey{Key: &c.DeviceKey().PublicKey}.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	api := signedBackend(t, f, n)

	t.Run("ours-verified-by-node", func(t *testing.T) {
		body := `{"amount":42,"note":"ünïcode"}`
		req, _ := http.NewRequest("POST", api.URL+"/v1/pay?to=bob&memo=a%20b", strings.NewReader(body))
		req.Header.Set("Attest-Token", res.Token)
		req.Header.Set("Content-Type", "application/json")
		if err := client.SignRequest(req, c.DeviceKey(), n.Clock.Now(), 0); err != nil {
			t.Fatal(err)
		}
		in := httpsigInput{Mode: "verify", Request: nodeRequest{Method: "POST", URL: req.URL.String(), Headers: headerMap(req.Header)},
			PublicJWK: pub, KeyID: c.DID()}
		if _, stderr, ok := runHTTPSig(t, node, in); !ok {
			t.Fatalf("http-message-signatures refused our signature: %s", stderr)
		}
		for name, tamper := range map[string]func(in *httpsigInput){
			"path":   func(in *httpsigInput) { in.Request.URL = strings.Replace(in.Request.URL, "/v1/pay", "/v1/refund", 1) },
			"query":  func(in *httpsigInput) { in.Request.URL = strings.Replace(in.Request.URL, "to=bob", "to=eve", 1) },
			"method": func(in *httpsigInput) { in.Request.Method = "PUT" },
			"token":  func(in *httpsigInput) { in.Request.Headers["attest-token"] += "x" },
			"digest": func(in *httpsigInput) { in.Request.Headers["content-digest"] = "sha-256=:AAAA:" },
		} {
			t.Run("tampered-"+name, func(t *testing.T) {
				tin := in
				tin.Request.Headers = headerMap(req.Header)
				tamper(&tin)
				if _, stderr, ok := runHTTPSig(t, node, tin); ok {
					t.Fatal("http-message-signatures verified a tampered request")
				} else if !strings.Contains(stderr, "not verified") {
					t.Fatalf("refused for another reason than the signature: %s", stderr)
				}
			})
		}
	})

	t.Run("node-signed-verified-by-ours", func(t *testing.T) {
		for _, tc := range []struct{ method, path, body string }{
			{"POST", "/v1/pay?to=bob", `{"amount":42}`},
			{"GET", "/v1/items", ""},
		} {
			t.Run(tc.method, func(t *testing.T) {
				in := httpsigInput{Mode: "sign", Request: nodeRequest{Method: tc.method, URL: api.URL + tc.path,
					Headers: map[string]string{"attest-token": res.Token, "content-type": "application/json"}, Body: tc.body},
					PrivateJWK: priv, KeyID: c.DID(), Created: n.Clock.Now().Unix()}
				out, stderr, ok := runHTTPSig(t, node, in)
				if !ok {
					t.Fatalf("node could not sign: %s", stderr)
				}
				var signed struct{ Headers map[string]string }
				if err := json.Unmarshal(out["headers"], &signed.Headers); err != nil {
					t.Fatal(err)
				}
				send := func() (int, string) {
					req, _ := http.NewRequest(tc.method, api.URL+tc.path, strings.NewReader(tc.body))
					for k, v := range signed.Headers {
						req.Header.Set(k, v)
					}
					resp, err := http.DefaultClient.Do(req)
					if err != nil {
						t.Fatal(err)
					}
					defer resp.Body.Close()
					b, _ := io.ReadAll(resp.Body)
					return resp.StatusCode, string(b)
				}
				if status, body := send(); status != 200 || body != tc.body {
					t.Fatalf("our backend refused http-message-signatures' signature: %d %s (Signature-Input %s)",
						status, body, signed.Headers["Signature-Input"])
				}
				if status, body := send(); status != 401 || !strings.Contains(body, "replayed") {
					t.Fatalf("the same signature again: %d %s", status, body)
				}
			})
		}
	})
}

// signedBackend is an API on loopback that requires request signatures,
// verifying tokens with the fixture's HS256 key at the node's clock; it
// echoes the body.
func signedBackend(t *testing.T, f *testenv.Fixture, n *testenv.Node) *httptest.Server {
	t.Helper()
	k, err := token.NewHMACKey(testenv.KIDHS, secret.New(f.HSKey))
	if err != nil {
		t.Fatal(err)
	}
	v, err := backend.New(backend.Config{Keys: []token.VerifyKey{k}, Audience: testenv.Account, Now: n.Clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(v.HTTP(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(w, r.Body)
	}), backend.WithRequestSignatures(backend.NewSignatures(backend.SignatureConfig{}))))
	t.Cleanup(srv.Close)
	return srv
}
