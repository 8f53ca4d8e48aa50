package e2e

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/attestd/attestd/client"
	"github.com/attestd/attestd/internal/ctl"
	"github.com/attestd/attestd/internal/testenv"
	"github.com/attestd/attestd/internal/testenv/poll"
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

// TestProxiedAPIsManagedWithAttestctl: `attestctl api put` makes an API
// the running node proxies within 2 s, `api list` shows it without the
// secret, a bad upstream is refused naming the field, `api remove` ends it.
func TestProxiedAPIsManagedWithAttestctl(t *testing.T) {
	r := newProxyRig(t)
	pass := r.mint(t, testenv.App, client.Evidence{})
	runCtl(t, r.store, "", "api", "put", testenv.Account, "weather", "--upstream", r.up.srv.URL+"/weather",
		"--secret", testenv.SecretName, "--query", "appid")
	list := runCtl(t, r.store, "", "api", "list", testenv.Account)
	if !strings.Contains(list, `"weather"`) || strings.Contains(list, testenv.SecretValue) {
		t.Fatalf("api list: %s", list)
	}
	var st int
	if !poll.For(2*time.Second, func() bool {
		r.up.take()
		st, _, _ = proxyDo(t, "GET", r.node.Base+"/v1/proxy/weather/today", map[string]string{"Attest-Token": pass})
		hits := r.up.take()
		return st == 200 && len(hits) == 1 && hits[0].uri == "/weather/today?appid="+testenv.SecretValue
	}) {
		t.Fatalf("new API not proxied within 2 s (status %d)", st)
	}
	var out, errb bytes.Buffer
	code := (&ctl.Config{}).Main(context.Background(), []string{"--store", r.store.URL, "api", "put", testenv.Account, "bad",
		"--upstream", "ftp://x", "--secret", testenv.SecretName, "--header", "X-Key"}, strings.NewReader(""), &out, &errb)
	if code == 0 || !strings.Contains(errb.String(), "upstream") {
		t.Fatalf("bad upstream: exit %d, %s", code, errb.String())
	}
	runCtl(t, r.store, "", "api", "remove", testenv.Account, "weather")
	if !poll.For(2*time.Second, func() bool {
		var body []byte
		st, _, body = proxyDo(t, "GET", r.node.Base+"/v1/proxy/weather/today", map[string]string{"Attest-Token": pass})
		return st == 404 && proxyErrCode(t, body) == "not_found"
	}) {
		t.Fatalf("removed API still proxied after 2 s (status %d)", st)
	}
}
