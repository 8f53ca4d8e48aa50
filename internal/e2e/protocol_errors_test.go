package e2e

import (
	"bytes"
	"crypto/elliptic"
	"encoding/base64"
	"strings"
	"testing"

	"github.com/attestd/attestd/client"
	"github.com/attestd/attestd/internal/testenv"
)

// protocolCase is one named protocol error case: run returns the answer,
// which must carry status and code.
type protocolCase struct {
	name   string
	status int
	code   string
	run    func(e *env) answer
}

func protocolCases() []protocolCase {
	good := func(e *env, mutate func(map[string]any)) (*client.Client, []byte) {
		c := e.client(testenv.App)
		b := e.body(c, e.nonce(c), client.Evidence{})
		if mutate != nil {
			b = edited(e.t, b, mutate)
		}
		return c, b
	}
	field := func(path string, v any) func(map[string]any) {
		return func(b map[string]any) {
			parts := strings.Split(path, ".")
			m := b
			for _, p := range parts[:len(parts)-1] {
				m = m[p].(map[string]any)
			}
			if v == nil {
				delete(m, parts[len(parts)-1])
			} else {
				m[parts[len(parts)-1]] = v
			}
		}
	}
	badBody := func(mutate func(map[string]any)) func(e *env) answer {
		return func(e *env) answer { c, b := good(e, mutate); return e.attest(c, b) }
	}
	return []protocolCase{
		{"fail/media-type", 415, "unsupported_media_type", func(e *env) answer {
			c, b := good(e, nil)
			sig, _ := c.Sign(b)
			return e.do("POST", "/v1/attest", "text/plain", b, map[string]string{"Attest-Signature": sig})
		}},
		{"fail/media-type-before-size", 415, "unsupported_media_type", func(e *env) answer {
			return e.do("POST", "/v1/attest", "text/plain", bytes.Repeat([]byte("x"), 70<<10), nil)
		}},
		{"fail/body-too-large", 413, "body_too_large", func(e *env) answer {
			c, b := good(e, field("pad", strings.Repeat("x", 64<<10)))
			return e.attest(c, b)
		}},
		{"fail/challenge-body-too-large", 413, "body_too_large", func(e *env) answer {
			return e.do("POST", "/v1/challenge", "application/json", append(append([]byte(`{"x":"`), bytes.Repeat([]byte("x"), 64<<10)...), `"}`...), nil)
		}},
		{"fail/malformed-json", 400, "bad_request", func(e *env) answer {
			c := e.client(testenv.App)
			return e.attest(c, []byte(`{"nonce": "x",`))
		}},
		{"fail/not-an-object", 400, "bad_request", func(e *env) answer {
			return e.attest(e.client(testenv.App), []byte(`["nonce"]`))
		}},
		{"fail/missing-nonce", 400, "bad_request", badBody(field("nonce", nil))},
		{"fail/nonce-not-string", 400, "bad_request", badBody(field("nonce", 12))},
		{"fail/missing-app-id", 400, "bad_request", badBody(field("app.id", nil))},
		{"fail/bad-platform", 400, "bad_request", badBody(field("app.platform", "windows"))},
		{"fail/signer-not-b64u", 400, "bad_request", badBody(field("app.signer", "***"))},
		{"fail/measurement-short", 400, "bad_request", badBody(field("app.measurement", base64.RawURLEncoding.EncodeToString([]byte("short"))))},
		{"fail/integrity-not-bool", 400, "bad_request", badBody(field("device.integrity.rooted", "yes"))},
		{"fail/binding-not-digest", 400, "bad_request", badBody(field("binding", "abc"))},
		{"fail/want-secrets-not-bool", 400, "bad_request", badBody(field("want_secrets", "true"))},
		{"fail/debug-token-not-string", 400, "bad_request", badBody(field("debug_token", 47))},
		{"fail/debug-token-too-long", 400, "bad_request", badBody(field("debug_token", "adt_"+strings.Repeat("A", 200)))},
		{"fail/device-key-not-b64u", 400, "bad_request", badBody(field("device.key", "!!"))},
		{"fail/device-key-not-p256", 400, "bad_request", func(e *env) answer {
			k := mustKey(e.t, elliptic.P384())
			c, b := good(e, field("device.key", spkiB64u(e.t, &k.PublicKey)))
			return e.attest(c, b)
		}},
		{"fail/device-key-before-nonce", 400, "bad_request", badBody(func(b map[string]any) {
			b["nonce"] = "forged"
			b["device"].(map[string]any)["key"] = "AAAA"
		})},
		{"fail/nonce-invalid", 401, "nonce_invalid", badBody(field("nonce", "v1.n1.forgedforgedforgedforgedforgedforgedforgedforgedforgedforgedfo"))},
		{"fail/nonce-tampered", 401, "nonce_invalid", func(e *env) answer {
			c := e.client(testenv.App)
			n := []byte(e.nonce(c))
			i := len(n) - 5
			if n[i] == 'A' {
				n[i] = 'B'
			} else {
				n[i] = 'A'
			}
			return e.attest(c, e.body(c, string(n), client.Evidence{}))
		}},
		{"fail/nonce-expired", 401, "nonce_expired", func(e *env) answer {
			c := e.client(testenv.App)
			n := e.nonce(c)
			e.node.Clock.Advance(61e9)
			defer e.node.Clock.Advance(-61e9)
			return e.attest(c, e.body(c, n, client.Evidence{}))
		}},
		{"fail/nonce-replayed", 401, "nonce_replayed", func(e *env) answer {
			c, b := good(e, nil)
			if a := e.attest(c, b); a.status != 200 {
				e.t.Fatalf("first use: %d %s", a.status, a.body)
			}
			return e.attest(c, b)
		}},
		{"fail/signature-missing", 401, "signature_invalid", func(e *env) answer {
			_, b := good(e, nil)
			return e.do("POST", "/v1/attest", "application/json", b, nil)
		}},
		{"fail/signature-malformed", 401, "signature_invalid", func(e *env) answer {
			_, b := good(e, nil)
			return e.do("POST", "/v1/attest", "application/json", b, map[string]string{"Attest-Signature": "not a signature"})
		}},
		{"fail/signature-other-key", 401, "signature_invalid", func(e *env) answer {
			_, b := good(e, nil)
			other := e.client(testenv.App)
			return e.attest(other, b)
		}},
		{"fail/signature-over-other-body", 401, "signature_invalid", func(e *env) answer {
			c, b := good(e, nil)
			sig, _ := c.Sign(append([]byte(" "), b...))
			return e.do("POST", "/v1/attest", "application/json", b, map[string]string{"Attest-Signature": sig})
		}},
		{"fail/not-found", 404, "not_found", func(e *env) answer { return e.do("GET", "/v1/nothing", "", nil, nil) }},
		{"fail/method-not-allowed", 405, "method_not_allowed", func(e *env) answer { return e.do("GET", "/v1/attest", "", nil, nil) }},
		{"fail/challenge-method", 405, "method_not_allowed", func(e *env) answer { return e.do("GET", "/v1/challenge", "", nil, nil) }},
		{"fail/challenge-not-object", 400, "bad_request", func(e *env) answer {
			return e.do("POST", "/v1/challenge", "application/json", []byte(`[1]`), nil)
		}},
		{"fail/challenge-media-type", 415, "unsupported_media_type", func(e *env) answer {
			return e.do("POST", "/v1/challenge", "text/plain", []byte(`{}`), nil)
		}},
		{"fail/jwks-unknown-account", 404, "not_found", func(e *env) answer {
			return e.do("GET", "/v1/accounts/nobody/jwks.json", "", nil, nil)
		}},
	}
}

// runProtocolErrors runs every protocol error case against node over tr.
func runProtocolErrors(t *testing.T, tr Transport, f *testenv.Fixture, node *testenv.Node) {
	for _, tc := range protocolCases() {
		t.Run(tc.name, func(t *testing.T) {
			e := &env{t: t, f: f, node: node, tr: tr}
			a := tc.run(e)
			if a.status != tc.status {
				t.Fatalf("status %d, want %d; body %s", a.status, tc.status, a.body)
			}
			if got := a.errorCode(t); got != tc.code {
				t.Fatalf("code %q, want %q", got, tc.code)
			}
			if tc.status == 405 && a.header.Get("Allow") == "" {
				t.Error("405 without Allow")
			}
		})
	}
}
