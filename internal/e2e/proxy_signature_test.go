package e2e

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/attestd/attestd/client"
	"github.com/attestd/attestd/daemon"
	"github.com/attestd/attestd/internal/model"
	"github.com/attestd/attestd/internal/testenv"
	"github.com/attestd/attestd/internal/testenv/h3test"
)

// PROTOCOL.md §12 on a real node, over its HTTP/1.1 and HTTP/3 listeners:
// an API with require_signature is reached by the SDK's Transport (pop
// token, each request signed), and refuses, forwarding nothing, a request
// with the same token unsigned, a replay of a signed one, and a token
// without cnf.

type sigListener struct {
	name string
	base string
	hc   *http.Client
}

// newSignatureRig is a node with its HTTP/3 listener, the proxy fixture's
// APIs and "signed" (require_signature), and its two listeners.
func newSignatureRig(t *testing.T) (*proxyRig, []sigListener) {
	return newSignatureRigEdit(t, nil)
}

// newSignatureRigEdit is newSignatureRig with the node's configuration
// edited by edit (nil: none).
func newSignatureRigEdit(t *testing.T, edit func(*daemon.Config)) (*proxyRig, []sigListener) {
	r := &proxyRig{up: newProxyUpstream(t), clock: &testenv.Clock{}}
	r.f = proxyFixture(t, r.up.srv.URL)
	r.f.Bundle.Accounts[0].APIs = append(r.f.Bundle.Accounts[0].APIs, model.API{Name: "signed", Upstream: r.up.srv.URL + "/signed",
		RequireSignature: true, Inject: model.Inject{Header: "X-Api-Key", Secret: testenv.SecretName}})
	r.store = testenv.NewStore(t, r.f)
	cert := h3test.NewCert(t, t.TempDir(), "node")
	r.node = testenv.StartNode(t, r.store, h3test.TLSOptions(cert, testenv.Options{Edit: edit}))
	r.e = &env{t: t, f: r.f, node: r.node, tr: http1()}
	return r, []sigListener{
		{"http1", r.node.Base, &http.Client{Timeout: 10 * time.Second}},
		{"http3", h3test.H3Base(r.node), h3test.H3Client(t, cert.Pool)},
	}
}

// sendSigned sends req with hc (its body from GetBody, so that a request
// can be sent again) and returns the status and body.
func sendSigned(t *testing.T, hc *http.Client, req *http.Request) (int, []byte) {
	t.Helper()
	if req.GetBody != nil {
		req.Body, _ = req.GetBody()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	resp, err := hc.Do(req.WithContext(ctx))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

func TestProxyRequireSignatureOverBothListeners(t *testing.T) {
	r, listeners := newSignatureRig(t)
	for _, l := range listeners {
		t.Run(l.name, func(t *testing.T) {
			c, err := client.New(client.Config{BaseURL: l.base, App: r.f.ClientApp(testenv.App), HTTP: l.hc, Now: r.node.Clock.Now})
			if err != nil {
				t.Fatal(err)
			}
			tr, err := client.NewTransport(client.TransportConfig{Client: c, Base: l.hc.Transport, ProofOfPossession: true})
			if err != nil {
				t.Fatal(err)
			}
			app := &http.Client{Transport: tr, Timeout: 20 * time.Second}
			body := []byte(`{"amount":42}`)

			r.up.take()
			req, _ := http.NewRequest("POST", l.base+"/v1/proxy/signed/pay?to=bob", bytes.NewReader(body))
			if st, b := sendSigned(t, app, req); st != 200 {
				t.Fatalf("the SDK's signed request: %d %s", st, b)
			}
			hits := r.up.Take()
			if len(hits) != 1 || string(hits[0].Body) != string(body) || hits[0].URI != "/signed/pay?to=bob" ||
				hits[0].Header.Get("X-Api-Key") != testenv.SecretValue {
				t.Fatalf("upstream got %d requests", len(hits))
			}
			for _, h := range []string{"Attest-Token", "Signature", "Signature-Input"} {
				if _, ok := hits[0].Header[h]; ok {
					t.Errorf("%s reached the upstream", h)
				}
			}

			res, err := c.Attest(context.Background(), client.Evidence{PoP: true})
			if err != nil {
				t.Fatal(err)
			}
			refused := func(t *testing.T, req *http.Request, code string) {
				t.Helper()
				r.up.take()
				st, b := sendSigned(t, l.hc, req)
				if st != 401 || proxyErrCode(t, b) != code {
					t.Fatalf("%d %s, want 401 %s", st, b, code)
				}
				if n := len(r.up.take()); n != 0 {
					t.Fatalf("%d requests forwarded", n)
				}
			}
			t.Run("unsigned-with-a-stolen-token", func(t *testing.T) {
				req, _ := http.NewRequest("POST", l.base+"/v1/proxy/signed/pay?to=eve", bytes.NewReader(body))
				req.Header.Set("Attest-Token", res.Token)
				refused(t, req, "request_signature_invalid")
			})
			t.Run("replayed", func(t *testing.T) {
				req, _ := http.NewRequest("POST", l.base+"/v1/proxy/signed/pay?to=bob", bytes.NewReader(body))
				req.Header.Set("Attest-Token", res.Token)
				if err := client.SignRequest(req, c.DeviceKey(), r.node.Clock.Now(), 0); err != nil {
					t.Fatal(err)
				}
				r.up.take()
				if st, b := sendSigned(t, l.hc, req); st != 200 {
					t.Fatalf("first: %d %s", st, b)
				}
				if n := len(r.up.take()); n != 1 {
					t.Fatalf("first: %d forwarded", n)
				}
				refused(t, req, "request_signature_invalid")
			})
			t.Run("token-without-cnf", func(t *testing.T) {
				plain, err := c.Attest(context.Background(), client.Evidence{})
				if err != nil {
					t.Fatal(err)
				}
				req, _ := http.NewRequest("GET", l.base+"/v1/proxy/signed/items", nil)
				req.Header.Set("Attest-Token", plain.Token)
				if err := client.SignRequest(req, c.DeviceKey(), r.node.Clock.Now(), 0); err != nil {
					t.Fatal(err)
				}
				refused(t, req, "request_signature_invalid")
			})
			t.Run("signed-for-another-api", func(t *testing.T) {
				req, _ := http.NewRequest("GET", l.base+"/v1/proxy/maps/items", nil)
				req.Header.Set("Attest-Token", res.Token)
				if err := client.SignRequest(req, c.DeviceKey(), r.node.Clock.Now(), 0); err != nil {
					t.Fatal(err)
				}
				req.URL.Path = strings.Replace(req.URL.Path, "/maps/", "/signed/", 1)
				refused(t, req, "request_signature_invalid")
			})
		})
	}
}

// TestProxyAuthorityBehindAHostRewrite: apps sign the @authority they
// address (the edge's public name); a load balancer that rewrites Host
// makes the node see another. With --proxy-authority set to the public
// name the signed request passes; without it, the same request is
// refused, forwarding nothing; and with it, a request signed for another
// name is refused.
func TestProxyAuthorityBehindAHostRewrite(t *testing.T) {
	const public = "edge.example.com"
	signedFor := func(t *testing.T, r *proxyRig, base, authority string) *http.Request {
		t.Helper()
		c, err := client.New(client.Config{BaseURL: base, App: r.f.ClientApp(testenv.App), Now: r.node.Clock.Now})
		if err != nil {
			t.Fatal(err)
		}
		res, err := c.Attest(context.Background(), client.Evidence{PoP: true})
		if err != nil {
			t.Fatal(err)
		}
		req, _ := http.NewRequest("GET", "https://"+authority+"/v1/proxy/signed/items", nil)
		req.Header.Set("Attest-Token", res.Token)
		if err := client.SignRequest(req, c.DeviceKey(), r.node.Clock.Now(), 0); err != nil {
			t.Fatal(err)
		}
		// Sent to the node, under the node's own address as Host: what a
		// load balancer that rewrites Host delivers.
		req.URL, _ = url.Parse(base + "/v1/proxy/signed/items")
		req.Host = ""
		return req
	}
	check := func(t *testing.T, r *proxyRig, l sigListener, authority string, want int) {
		t.Helper()
		r.up.take()
		st, b := sendSigned(t, l.hc, signedFor(t, r, l.base, authority))
		if st != want {
			t.Fatalf("signed for %s, sent with Host %s: %d %s, want %d", authority, strings.TrimPrefix(l.base, "http://"), st, b, want)
		}
		if n, fwd := len(r.up.take()), want == 200; (n == 1) != fwd {
			t.Fatalf("%d requests forwarded", n)
		}
		if want != 200 && proxyErrCode(t, b) != "request_signature_invalid" {
			t.Fatalf("refusal %s, want request_signature_invalid", b)
		}
	}
	r, ls := newSignatureRigEdit(t, func(c *daemon.Config) { c.ProxyAuthority = public })
	check(t, r, ls[0], public, 200)
	check(t, r, ls[0], "other.example.com", 401)
	plain, pls := newSignatureRig(t)
	check(t, plain, pls[0], public, 401)
}
