package api_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/attestd/attestd/internal/api"
)

// errorCode is the error member of a PROTOCOL.md error body ("" when the
// body is not one).
func errorCode(body []byte) string {
	var e struct{ Error, Message string }
	if json.Unmarshal(body, &e) != nil || e.Message == "" {
		return ""
	}
	return e.Error
}

// TestJWKSRouteOverlapDoesNotPanic: a path where the JWKS prefix
// "/v1/accounts/" and suffix "/jwks.json" overlap made the router slice
// [13:12] and panic, which ended the node (fasthttp does not recover);
// fasthttp's normalisation made "/v1/accounts/x/../jwks.json" the same
// path. Each is not_found, through the router and both adapters.
func TestJWKSRouteOverlapDoesNotPanic(t *testing.T) {
	h := newHandler(t)
	s1, h3 := startHTTP1(t, h), newH3(h)
	for _, target := range []string{
		"/v1/accounts/jwks.json",
		"/v1/accounts/x/../jwks.json",
		"/v1/accounts/./jwks.json",
		"/v1/accounts//jwks.json",
		"/v1/accounts/%2e%2e/jwks.json",
		"/v1/accounts/jwks.json/jwks.json",
	} {
		if r := serve(h, "GET", target, nil); r.Status != 404 || r.Code != "not_found" {
			t.Errorf("router GET %s: %d %q", target, r.Status, r.Code)
		}
		if a := s1.do(t, "GET", target, nil, nil); a.status != 404 || errorCode(a.body) != "not_found" {
			t.Errorf("http1 GET %s: %d %s", target, a.status, a.body)
		}
		if a := h3do(h3, "GET", target, nil, nil); a.status != 404 || errorCode(a.body) != "not_found" {
			t.Errorf("http3 GET %s: %d %s", target, a.status, a.body)
		}
	}
	// and the node still serves a real JWKS
	if a := s1.do(t, "GET", "/v1/accounts/acme-es/jwks.json", nil, nil); a.status != 200 {
		t.Fatalf("http1 JWKS after the attack: %d %s", a.status, a.body)
	}
}

// TestDotSegmentsDoNotReachEndpoints: over HTTP/1.1, fasthttp's
// normalisation let "/v1/./challenge", "//v1/challenge" and
// "/v1/x/../challenge" reach the challenge endpoint (HTTP/3 answered 404).
// A target that names no endpoint exactly is not_found (PROTOCOL.md
// Conventions), over both transports alike.
func TestDotSegmentsDoNotReachEndpoints(t *testing.T) {
	h := newHandler(t)
	s1, h3 := startHTTP1(t, h), newH3(h)
	for _, target := range []string{
		"/v1/./challenge",
		"//v1/challenge",
		"/v1/x/../challenge",
		"/v1//challenge",
		"/v1/challenge/",
		"/v1/challenge/.",
		"/./v1/challenge",
		"/v1/%2e/challenge",
		"/v1/x/%2e%2e/challenge",
		"/v1/x/%2E%2E/attest",
		"/v1/%63hallenge",
		"/v1%2Fchallenge",
		"/v1/challenge%2F",
		"/v1/challenge;x",
		"/v1/x/../attest",
		"/v1/accounts/acme/../acme/jwks.json",
		"/v1/accounts/acme/./jwks.json",
		"//v1/accounts/acme/jwks.json",
	} {
		method := "POST"
		if len(target) > 10 && target[len(target)-10:] == "/jwks.json" {
			method = "GET"
		}
		if a := s1.do(t, method, target, []string{"Content-Type: application/json"}, []byte("{}")); a.status != 404 || errorCode(a.body) != "not_found" {
			t.Errorf("http1 %s %s: %d %s", method, target, a.status, a.body)
		}
		if a := h3do(h3, method, target, map[string]string{"Content-Type": "application/json"}, []byte("{}")); a.status != 404 || errorCode(a.body) != "not_found" {
			t.Errorf("http3 %s %s: %d %s", method, target, a.status, a.body)
		}
	}
	// The endpoints themselves answer.
	if a := s1.do(t, "POST", "/v1/challenge", nil, nil); a.status != 200 {
		t.Errorf("http1 POST /v1/challenge: %d %s", a.status, a.body)
	}
	if a := h3do(h3, "POST", "/v1/challenge", nil, nil); a.status != 200 {
		t.Errorf("http3 POST /v1/challenge: %d %s", a.status, a.body)
	}
}

// TestServeDoesNotAllocateOnCraftedTargets: a challenge, and a refusal of
// every crafted target, cost no allocation through the router (the
// router's error bodies are appended to the reused Response).
func TestServeDoesNotAllocateOnCraftedTargets(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are meaningless under -race")
	}
	h := newHandler(t)
	reqs := []*api.Request{{Method: []byte("POST"), Path: []byte("/v1/challenge")}}
	for _, p := range []string{"/v1/accounts/jwks.json", "/v1/x/../challenge", "//v1/challenge", "/v1/accounts/%2e%2e/jwks.json",
		"/v1/accounts/a%2Fb/jwks.json", "/v1/%63hallenge", "/" + strings.Repeat("a/", 1000)} {
		reqs = append(reqs, &api.Request{Method: []byte("GET"), Path: []byte(p)})
	}
	resp := api.Response{Body: make([]byte, 0, 2048)}
	ctx := context.Background()
	n := testing.AllocsPerRun(200, func() {
		for _, r := range reqs {
			resp.Reset()
			h.Serve(ctx, r, &resp)
		}
	})
	if n != 0 {
		t.Errorf("%v allocations per round, want 0", n)
	}
}
