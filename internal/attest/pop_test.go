package attest

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/golang-jwt/jwt/v5"
)

// PROTOCOL.md §12: "pop": true binds the token to the device key (cnf.jwk).

// cnfOf returns the cnf.jwk of the answer's token as an independent JWT
// library reads it (signature unchecked: decoys have the same shape).
func cnfOf(t *testing.T, answer []byte) map[string]string {
	t.Helper()
	var a struct{ Token string }
	if err := json.Unmarshal(answer, &a); err != nil {
		t.Fatal(err)
	}
	var cl struct {
		jwt.RegisteredClaims
		Cnf *struct {
			JWK map[string]string `json:"jwk"`
		} `json:"cnf"`
	}
	if _, _, err := jwt.NewParser().ParseUnverified(a.Token, &cl); err != nil {
		t.Fatal(err)
	}
	if cl.Cnf == nil {
		return nil
	}
	return cl.Cnf.JWK
}

func wantDeviceJWK(t *testing.T, d *device, jwk map[string]string) {
	t.Helper()
	pt, _ := d.key.PublicKey.Bytes()
	if len(jwk) != 4 || jwk["kty"] != "EC" || jwk["crv"] != "P-256" {
		t.Fatalf("cnf.jwk %v", jwk)
	}
	x, err1 := b64uDecode(jwk["x"])
	y, err2 := b64uDecode(jwk["y"])
	if err1 != nil || err2 != nil || string(x) != string(pt[1:33]) || string(y) != string(pt[33:]) {
		t.Fatalf("cnf.jwk is not the device key: %v", jwk)
	}
}

func TestPoPTokenCarriesTheDeviceKey(t *testing.T) {
	r := newRig(t, rigOptions{})
	d := newDevice(t)
	ans, err := r.genuine(d, claim{pop: true})
	if err != nil {
		t.Fatal(err)
	}
	if real, _ := r.verdictOf(ans); !real {
		t.Fatal("a genuine pop request did not pass")
	}
	wantDeviceJWK(t, d, cnfOf(t, ans))

	t.Run("without-pop-no-cnf", func(t *testing.T) {
		ans, err := r.genuine(d, claim{})
		if err != nil {
			t.Fatal(err)
		}
		if cnfOf(t, ans) != nil {
			t.Fatal("a token minted without pop has cnf")
		}
	})
	t.Run("pop-false-no-cnf", func(t *testing.T) {
		n := r.nonce()
		b := []byte(strings.TrimSuffix(string(r.body(d, claim{nonce: n})), "}") + `,"pop":false}`)
		ans, err := r.attest(b, d.sign(t, b))
		if err != nil {
			t.Fatal(err)
		}
		if cnfOf(t, ans) != nil {
			t.Fatal(`"pop": false gave a token with cnf`)
		}
	})
	// A failed verdict's token has the shape of a pass's (§3): cnf too.
	t.Run("failed-verdict-same-shape", func(t *testing.T) {
		ans, err := r.genuine(d, claim{pop: true, integrity: `{"hooked":true}`})
		if err != nil {
			t.Fatal(err)
		}
		if real, _ := r.verdictOf(ans); real {
			t.Fatal("a hooked device passed")
		}
		wantDeviceJWK(t, d, cnfOf(t, ans))
	})
	t.Run("unknown-app-same-shape", func(t *testing.T) {
		ans, err := r.genuine(d, claim{pop: true, app: "com.nothere"})
		if err != nil {
			t.Fatal(err)
		}
		wantDeviceJWK(t, d, cnfOf(t, ans))
	})
}

func TestPoPMalformedIsBadRequest(t *testing.T) {
	for name, member := range map[string]string{
		"string":        `"pop":"true"`,
		"number":        `"pop":1`,
		"twice":         `"pop":true,"pop":false`,
		"escaped-twice": `"pop":true,"p\u006fp":true`,
	} {
		t.Run(name, func(t *testing.T) {
			body := strings.Replace(validBody(), `"want_secrets":true`, member, 1)
			var req Request
			err := ParseRequest([]byte(body), &req)
			if code(err) != "bad_request" || !strings.Contains(err.Error(), "pop") {
				t.Fatalf("%v, want bad_request naming pop", err)
			}
		})
	}
	var req Request
	if err := ParseRequest([]byte(strings.Replace(validBody(), `"want_secrets":true`, `"pop":null`, 1)), &req); err != nil || req.PoP {
		t.Fatalf("pop null: %v, %v", err, req.PoP)
	}
}
