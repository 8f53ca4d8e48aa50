package state

import (
	"crypto/sha256"
	"encoding/base64"
	"strings"
	"testing"

	"github.com/attestd/attestd/internal/model"
)

func digestB64u(s string) string {
	d := sha256.Sum256([]byte(s))
	return base64.RawURLEncoding.EncodeToString(d[:])
}

func digestB64(s string) string {
	d := sha256.Sum256([]byte(s))
	return base64.StdEncoding.EncodeToString(d[:])
}

// hsSecret is a recognisable HS256 secret: b64 of 32 bytes.
func hsSecret(tag string) string {
	return base64.StdEncoding.EncodeToString([]byte(strings.Repeat(tag, 32)[:32]))
}

// acmeBundle is a bundle with two accounts and two apps.
func acmeBundle(t testing.TB) *model.Bundle {
	t.Helper()
	js := `{
	"accounts": [
	  {"id": "acme", "token": {"ttl": 120, "annotate": true},
	   "keys": [{"kid": "k1", "alg": "HS256", "secret": "` + hsSecret("A") + `", "status": "active"}],
	   "secrets": [{"name": "maps_api_key", "value": "SECRET-maps-value-0001", "apps": ["com.example.shop"]}],
	   "pins": {"api.example.com": ["` + digestB64("p1") + `", "` + digestB64("p2") + `"]},
	   "apis": [{"name": "maps", "upstream": "https://maps.example.com", "inject": {"header": "X-Api-Key", "secret": "maps_api_key"}}]},
	  {"id": "other",
	   "keys": [{"kid": "o1", "alg": "HS256", "secret": "` + hsSecret("B") + `", "status": "active"}]}
	],
	"apps": [
	  {"id": "com.example.shop", "account": "acme", "platform": "android",
	   "signers": ["` + digestB64u("signer") + `"], "versions": {"4.2.1": "` + digestB64u("code") + `"}},
	  {"id": "com.other.app", "account": "other", "platform": "ios", "team_id": "TEAM1",
	   "signers": ["` + digestB64u("signer2") + `"], "versions": {"1.0": "` + digestB64u("code2") + `"}}
	],
	"bans": {"devices": ["` + digestB64u("dev1") + `"]}
	}`
	b, err := model.DecodeBundle(strings.NewReader(js))
	if err != nil {
		t.Fatal(err)
	}
	return b
}
