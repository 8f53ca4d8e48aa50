package e2e

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"

	"github.com/attestd/attestd/client"
	"github.com/attestd/attestd/internal/testenv"
)

// TestPoPTokenIsBoundToTheDeviceKey: a real node answers an attest body
// with "pop": true (sent as any SDK would, whatever its version of the Go
// client) with a token whose cnf.jwk is the device key (PROTOCOL.md §12),
// and one without pop with a token without cnf: a bearer token is never
// mistaken for a bound one, nor the other way round.
func TestPoPTokenIsBoundToTheDeviceKey(t *testing.T) {
	f := testenv.NewFixture(t)
	n := testenv.StartNode(t, testenv.NewStore(t, f), testenv.Options{})
	e := &env{t: t, f: f, node: n, tr: http1()}
	c := e.client(testenv.App)
	for name, ev := range map[string]client.Evidence{"pop": {PoP: true}, "bearer": {}} {
		t.Run(name, func(t *testing.T) {
			res, err := c.Attest(context.Background(), ev)
			if err != nil {
				t.Fatal(err)
			}
			parts := strings.Split(res.Token, ".")
			raw, err := base64.RawURLEncoding.DecodeString(parts[1])
			if err != nil {
				t.Fatal(err)
			}
			var claims struct {
				Cnf *struct{ JWK map[string]string } `json:"cnf"`
			}
			if err := json.Unmarshal(raw, &claims); err != nil {
				t.Fatal(err)
			}
			if name == "bearer" {
				if claims.Cnf != nil {
					t.Fatal("a token attested without pop carries cnf")
				}
				return
			}
			if claims.Cnf == nil {
				t.Fatal(`"pop": true gave a token without cnf: a stolen copy works without the device`)
			}
			pt, _ := c.DeviceKey().PublicKey.Bytes()
			j := claims.Cnf.JWK
			if j["kty"] != "EC" || j["crv"] != "P-256" || j["x"] != base64.RawURLEncoding.EncodeToString(pt[1:33]) ||
				j["y"] != base64.RawURLEncoding.EncodeToString(pt[33:]) {
				t.Fatalf("cnf.jwk %v is not the device key", j)
			}
		})
	}
}
