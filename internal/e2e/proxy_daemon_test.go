package e2e

import (
	"testing"

	"github.com/attestd/attestd/client"
	"github.com/attestd/attestd/internal/testenv"
)

// TestProxyServedByTheDaemon: the daemon's own listener routes /v1/proxy/…
// to the secrets proxy, which injects the secret and forwards; an invalid
// token forwards nothing.
func TestProxyServedByTheDaemon(t *testing.T) {
	r := newProxyRig(t)
	pass := r.mint(t, testenv.App, client.Evidence{})
	decoy := r.mint(t, testenv.App, client.Evidence{Integrity: client.Integrity{Hooked: true}})
	r.up.take()
	st, _, body := proxyDo(t, "GET", r.node.Base+"/v1/proxy/maps/v1/geocode?q=1", map[string]string{"Attest-Token": pass})
	hits := r.up.take()
	if st != 200 || len(hits) != 1 || hits[0].uri != "/maps/v1/geocode?q=1" || hits[0].header.Get("X-Api-Key") != testenv.SecretValue {
		t.Fatalf("proxied: %d %s, hits %+v", st, body, len(hits))
	}
	if _, has := hits[0].header["Attest-Token"]; has {
		t.Fatal("Attest-Token reached the upstream")
	}
	st, _, body = proxyDo(t, "POST", r.node.Base+"/v1/proxy/maps/x", map[string]string{"Attest-Token": decoy})
	if st != 401 || proxyErrCode(t, body) != "token_invalid" || len(r.up.take()) != 0 {
		t.Fatalf("decoy token: %d %s", st, body)
	}
}
