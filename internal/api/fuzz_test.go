package api_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// protocolStatus is every status PROTOCOL.md lets the public endpoints
// answer, with the error code of each non-2xx (no 500: 1.1, nothing a
// request contains is answered 500).
var protocolStatus = map[int][]string{
	200: nil,
	400: {"bad_request"},
	401: {"nonce_invalid", "nonce_expired", "nonce_replayed", "signature_invalid"},
	404: {"not_found"},
	405: {"method_not_allowed"},
	413: {"body_too_large"},
	415: {"unsupported_media_type"},
	429: {"rate_limited"},
	503: {"overloaded"},
}

// FuzzRouter drives the real router through both real adapters with an
// arbitrary method, request target, one header and a body. Whatever they
// hold: no panic, never a 500, a status of PROTOCOL.md with its error
// body; and where both transports take the request (fasthttp parses it,
// quic-go would not reset its stream), both answer the same status.
//
// Inputs that would change the framing of the HTTP/1.1 request written
// (CR or LF in a field, the framing headers) are skipped: they test the
// test's writer, not the router.
func FuzzRouter(f *testing.F) {
	for _, target := range []string{
		"/v1/challenge", "/v1/attest", "/v1/accounts/acme/jwks.json", "/v1/accounts/we%3Fird%25%23id/jwks.json",
		"/v1/accounts/jwks.json", "/v1/accounts/x/../jwks.json", "//v1/challenge", "/v1/./challenge",
		"/v1/x/../challenge", "/v1/accounts//jwks.json", "/v1/%2e%2e/challenge", "/v1/accounts/%2e%2e/jwks.json",
		"/v1/accounts/a%2Fb/jwks.json", "/v1%2Fchallenge", "/v1/challenge%00", "/v1/accounts/%00/jwks.json",
		"/v1/challenge\x00", "http://host/v1/challenge", "HTTP://host/v1/attest?x", "*", "", "host:443",
		"/v1/accounts/" + strings.Repeat("a", 4096) + "/jwks.json", "/" + strings.Repeat("a/", 2048),
		"/v1/accounts/%", "/v1/accounts/%zz/jwks.json", "/v1/challenge?%zz", "/v1/challenge#x",
	} {
		for _, method := range []string{"GET", "POST", "HEAD", "OPTIONS"} {
			f.Add(method, target, "Content-Type", "application/json", []byte("{}"))
		}
	}
	f.Add("get", "/v1/challenge", "X-Request-Id", "x", []byte(nil))
	f.Add("CONNECT", "host:443", "", "", []byte(nil))
	f.Add("POST", "/v1/attest", "Attest-Signature", "AAAA", []byte(`{"nonce":"x"}`))
	// The router and its adapters, once per fuzzing process.
	h := newHandler(f)
	h1, h3 := startHTTP1(f, h), newH3(h)
	f.Fuzz(func(t *testing.T, method, target, name, value string, body []byte) {
		if strings.ContainsAny(method+target+name+value, "\r\n") || framing(name) {
			t.Skip()
		}
		var hdr []string
		h3hdr := map[string]string{}
		if name != "" {
			hdr = append(hdr, name+": "+value)
			if !validFieldName(name) || !validFieldValue(value) {
				h3hdr = nil // quic-go refuses the field: the stream is reset
			} else {
				h3hdr[name] = value
			}
		}
		a1 := h1.do(t, method, target, hdr, body)
		checkAnswer(t, "http1", method, target, a1)
		a3 := answer{reset: true}
		if h3hdr != nil && validFieldName(method) {
			a3 = h3do(h3, method, target, h3hdr, body)
		}
		if !a3.reset {
			checkAnswer(t, "http3", method, target, a3)
		}
		// fasthttp's own refusals (a request it cannot read, a request line
		// and headers over its 4 KiB buffer) are the adapter's 400
		// "malformed HTTP request" (for HEAD, without its body); the router
		// never answers HEAD 400.
		malformed := a1.status == 400 && (bytes.Contains(a1.body, []byte("malformed HTTP request")) || method == http.MethodHead)
		if !a3.reset && !malformed && a1.status != a3.status {
			t.Fatalf("%q %q: http1 answered %d %s, http3 %d %s", method, short(target), a1.status, a1.body, a3.status, a3.body)
		}
	})
}

// checkAnswer holds an answer to PROTOCOL.md.
func checkAnswer(t *testing.T, transport, method, target string, a answer) {
	t.Helper()
	codes, ok := protocolStatus[a.status]
	if !ok {
		t.Fatalf("%s %q %q: status %d is not one of the protocol's: %s", transport, method, short(target), a.status, a.body)
	}
	if a.status == 200 || method == http.MethodHead {
		return
	}
	var e struct{ Error, Message string }
	if err := json.Unmarshal(a.body, &e); err != nil || e.Message == "" {
		t.Fatalf("%s %q %q: %d body %q is not an error body", transport, method, short(target), a.status, a.body)
	}
	for _, c := range codes {
		if e.Error == c {
			return
		}
	}
	t.Fatalf("%s %q %q: %d with code %q", transport, method, short(target), a.status, e.Error)
}

// framing reports a header that changes how the test's HTTP/1.1 request
// is framed (its length, its connection, its host).
func framing(name string) bool {
	switch strings.ToLower(strings.TrimSpace(name)) {
	case "content-length", "transfer-encoding", "connection", "host", "expect", "te", "upgrade", "keep-alive", "trailer":
		return true
	}
	return false
}

// validFieldName is an RFC 9110 token (a method or header name), as
// quic-go requires of a field.
func validFieldName(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0) {
			return false
		}
	}
	return s != ""
}

// validFieldValue: no control byte but HTAB (httpguts.ValidHeaderFieldValue).
func validFieldValue(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < ' ' && c != '\t' || c == 0x7f {
			return false
		}
	}
	return true
}

// short cuts a target for a message.
func short(s string) string {
	if len(s) > 200 {
		return s[:200] + "..."
	}
	return s
}
